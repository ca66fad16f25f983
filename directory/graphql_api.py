"""The GraphQL API (Strawberry, code first). `schema.graphql` is exported from
`schema`; a test fails when the committed file is stale.

Resolvers are thin: they check the role, call `directory.profiles` (inline:
reads are fast) or `directory.ingest` (in a worker thread) and wrap the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import strawberry
from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool
from strawberry.extensions import MaskErrors, ParserCache, ValidationCache
from strawberry.permission import BasePermission
from strawberry.scalars import JSON

from directory import profiles as service
from directory.auth import Role
from directory.ingest import MODELS, IngestReport, ingest_lines
from directory.settings import Settings
from graph.model import StoredProfile, StoredRecord
from graph.store import GraphWriter
from resolvers.explain import PairExplanation, why
from resolvers.model import utc_now
from resolvers.records import iter_json_array_items


@dataclass
class Context:
    """Per-request context: the graph, the settings and the caller's role."""

    writer: GraphWriter
    settings: Settings
    role: Role | None


def _needs(role: Role) -> type[BasePermission]:
    class Needs(BasePermission):
        message = f"this needs an API key with the {role.value} role (or higher)"

        def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
            current: Role | None = info.context.role
            return current is not None and current.allows(role)

    Needs.__name__ = f"Needs{role.value.title()}"
    return Needs


IsAgent, IsSteward, IsAdmin = _needs(Role.AGENT), _needs(Role.STEWARD), _needs(Role.ADMIN)
JUDGEMENTS = ("same", "different", "unsure")


@strawberry.input(description="An identifier as any channel sees it, e.g. twitter / @cfrancavilla")
class IdentifierInput:
    type: str
    value: str
    region: str | None = strawberry.field(
        default=None, description="ISO country to read a national phone number in"
    )
    at: str | None = strawberry.field(
        default=None,
        description="for an IP: when it was used (ISO-8601); only sightings within a day count",
    )


@strawberry.type(description="An identifier value of the profile, across its records")
class Identifier:
    type: str
    value: str
    strength: str = strawberry.field(description="strong, medium or weak (IPs)")
    generic: bool = strawberry.field(
        description="shared by too many different people to link anyone (shown, never linking)"
    )
    people: int | None = strawberry.field(description="different people seen carrying it")
    sources: list[str]
    first_seen: str | None
    last_seen: str | None


@strawberry.type
class IdentifierGroup:
    type: str
    values: list[Identifier]


@strawberry.type
class Attribute:
    name: str
    value: str


@strawberry.type(description="One identifier as a source record carries it")
class RecordIdentifier:
    type: str
    value: str
    generic: bool
    seen_at: str | None


@strawberry.type(description="Why a record belongs to its profile")
class LinkExplanation:
    rule: str = strawberry.field(
        description="seed (first record of the profile), shared-identifier, or probabilistic "
        "(the match model linked it to via_record: ask why(a, b) for the evidence)"
    )
    via: str | None = strawberry.field(description="the shared identifier, as type:value")
    via_record: str | None = strawberry.field(description="the record it was shared with")
    description: str


@strawberry.type(description="One record from one source, as the source sent it")
class SourceRecord:
    source: str
    source_id: str
    kind: str
    observed_at: str | None
    name: str | None
    text: str | None
    topics: list[str]
    attributes: list[Attribute]
    identifiers: list[RecordIdentifier]
    link: LinkExplanation


@strawberry.type(description="What the person is on one network or system")
class Facet:
    source: str
    names: list[str]
    attributes: list[Attribute]
    topics: list[str]
    identifiers: list[RecordIdentifier]
    record_count: int
    last_seen: str | None


@strawberry.type(description="An interaction on some channel: a message, ticket, call, post")
class TimelineEntry:
    at: str | None
    source: str
    source_id: str
    name: str | None
    text: str
    topics: list[str]


@strawberry.type(description="One resolved person: a customer or an employee")
class Profile:
    stored: strawberry.Private[StoredProfile]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.stored.id)

    @strawberry.field(description="customer or employee")
    def kind(self) -> str:
        return self.stored.kind

    @strawberry.field(description="by source priority (hr, crm, ...), then the newest record")
    def display_name(self) -> str | None:
        return self.stored.display_name

    @strawberry.field
    def created_at(self) -> str | None:
        return self.stored.created_at

    @strawberry.field
    def updated_at(self) -> str | None:
        return self.stored.updated_at

    @strawberry.field
    def record_count(self) -> int:
        return len(self.stored.records)

    @strawberry.field(description="every identifier value, once")
    def identifiers(self) -> list[Identifier]:
        return [Identifier(**vars(i)) for i in service.identifiers(self.stored)]

    @strawberry.field(description="identifiers grouped by type")
    def identifier_groups(self) -> list[IdentifierGroup]:
        groups: dict[str, list[Identifier]] = {}
        for item in self.identifiers():
            groups.setdefault(item.type, []).append(item)
        return [IdentifierGroup(type=t, values=v) for t, v in groups.items()]

    @strawberry.field(description="one facet per source or network")
    def facets(self) -> list[Facet]:
        return [
            Facet(
                source=f.source,
                names=f.names,
                attributes=_attributes(f.attributes),
                topics=f.topics,
                identifiers=_unique_identifiers(f.records),
                record_count=len(f.records),
                last_seen=f.last_seen,
            )
            for f in service.facets(self.stored)
        ]

    @strawberry.field(description="every source record, oldest first, with how it was linked")
    def records(self) -> list[SourceRecord]:
        ordered = sorted(self.stored.records, key=lambda r: (r.observed_at or "", r.key))
        return [_source_record(r) for r in ordered]

    @strawberry.field(description="interactions across channels, newest first")
    def timeline(self, first: int = 50) -> list[TimelineEntry]:
        return [
            TimelineEntry(
                at=r.observed_at,
                source=r.source,
                source_id=r.source_id,
                name=r.name,
                text=r.text or "",
                topics=r.topics,
            )
            for r in service.timeline(self.stored, first)
        ]


def _attributes(attributes: dict[str, str]) -> list[Attribute]:
    return [Attribute(name=k, value=v) for k, v in sorted(attributes.items())]


def _record_identifiers(record: StoredRecord) -> list[RecordIdentifier]:
    return [
        RecordIdentifier(type=i.type, value=i.value, generic=bool(i.generic), seen_at=i.seen_at)
        for i in sorted(record.identifiers, key=lambda i: (i.type, i.value))
    ]


def _unique_identifiers(records: list[StoredRecord]) -> list[RecordIdentifier]:
    unique = {(i.type, i.value): i for r in records for i in _record_identifiers(r)}
    return [unique[k] for k in sorted(unique)]


def _source_record(record: StoredRecord) -> SourceRecord:
    return SourceRecord(
        source=record.source,
        source_id=record.source_id,
        kind=record.kind,
        observed_at=record.observed_at,
        name=record.name,
        text=record.text,
        topics=record.topics,
        attributes=_attributes(record.attributes),
        identifiers=_record_identifiers(record),
        link=_explain(record),
    )


def _explain(record: StoredRecord) -> LinkExplanation:
    link = record.link
    if link.rule == "shared-identifier" and link.via:
        text = f"shares {link.via} with record {link.via_record}"
    elif link.rule == "probabilistic":
        text = f"the match model linked it to record {link.via_record}"
    else:
        text = "first record of this profile"
    return LinkExplanation(
        rule=link.rule, via=link.via, via_record=link.via_record, description=text
    )


@strawberry.type(description="One comparison's part of a match weight")
class MatchPart:
    comparison: str
    level: str | None = strawberry.field(description="null: a side lacks the value")
    weight: float = strawberry.field(description="log2(m/u) of the level")
    tf_adjustment: float = strawberry.field(
        description="how much rarer (+) or commoner (-) than usual the agreed value is"
    )
    generic_adjustment: float = strawberry.field(
        description="-log2(people) when the agreed identifier is shared by that many people"
    )
    value: str | None = strawberry.field(description="the agreed value the frequency is of")


@strawberry.type(description="Why two records (the best pair of two profiles) match or not")
class MatchExplanation:
    left: str = strawberry.field(description="record compared on the first side")
    right: str = strawberry.field(description="record compared on the second side")
    model_version: str
    prior_weight: float
    weight: float = strawberry.field(description="the total: prior + parts")
    probability: float
    parts: list[MatchPart]

    @staticmethod
    def of(found: PairExplanation) -> MatchExplanation:
        explained = found.explanation
        return MatchExplanation(
            left=found.left,
            right=found.right,
            model_version=found.model_version,
            prior_weight=explained.prior_weight,
            weight=explained.weight,
            probability=explained.probability,
            parts=[MatchPart(**vars(part)) for part in explained.parts],
        )


@strawberry.type(description="A profile seen on an IP, and how close to the time asked")
class IpCandidate:
    profile: Profile
    sightings: int = strawberry.field(description="its records seen on the IP (in the window)")
    closest_seen_at: str | None
    distance_seconds: float | None = strawberry.field(
        description="from the time asked to the closest sighting"
    )


def _moment(text: str | None) -> datetime | None:
    """An ISO-8601 time from the API (a clear error for anything else)."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise GraphQLError(f"at: expected an ISO-8601 time, got {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _wrap(stored: StoredProfile | None) -> Profile | None:
    return Profile(stored=stored) if stored else None


@strawberry.type
class Query:
    # Reads are a few index lookups (about a millisecond), so they run inline:
    # a hop to a worker thread would cost more than it frees the event loop.

    @strawberry.field(
        permission_classes=[IsAgent],
        description="The one profile carrying an identifier; null when nobody (or several "
        "different people: a generic value) carries it.",
    )
    def lookup(self, info: strawberry.Info, identifier: IdentifierInput) -> Profile | None:
        ctx: Context = info.context
        region = identifier.region or ctx.settings.default_region
        found = service.lookup(
            ctx.writer, type_=identifier.type, value=identifier.value, region=region,
            at=_moment(identifier.at),
        )  # fmt: skip
        return _wrap(found)

    @strawberry.field(
        permission_classes=[IsAgent],
        description="Profiles seen on an IP, nearest in time to `at` first, with the evidence: "
        "an IP is weak (households, offices and carrier NAT share one), so the agent decides.",
    )
    def ip_candidates(
        self, info: strawberry.Info, ip: str, at: str | None = None, window_hours: int = 24,
        first: int = 10,
    ) -> list[IpCandidate]:  # fmt: skip
        ctx: Context = info.context
        found = service.ip_candidates(
            ctx.writer, value=ip, at=_moment(at), window=timedelta(hours=max(window_hours, 0)),
            first=max(1, min(first, 50)),
        )  # fmt: skip
        return [
            IpCandidate(profile=Profile(stored=c.profile), sightings=c.sightings,
                        closest_seen_at=c.closest_seen_at, distance_seconds=c.distance_s)
            for c in found
        ]  # fmt: skip

    @strawberry.field(
        permission_classes=[IsAgent],
        description="Every profile carrying an identifier, most records first.",
    )
    def profiles_by_identifier(
        self, info: strawberry.Info, identifier: IdentifierInput
    ) -> list[Profile]:
        ctx: Context = info.context
        region = identifier.region or ctx.settings.default_region
        found = service.profiles_by_identifier(
            ctx.writer, type_=identifier.type, value=identifier.value, region=region
        )
        return [Profile(stored=p) for p in found]

    @strawberry.field(
        permission_classes=[IsAgent],
        description="A profile by id; an id that was merged away resolves to the survivor.",
    )
    def profile(self, info: strawberry.Info, id: strawberry.ID) -> Profile | None:  # noqa: A002 - GraphQL's own name
        ctx: Context = info.context
        return _wrap(service.get_profile(ctx.writer, profile_id=str(id)))

    @strawberry.field(
        permission_classes=[IsAgent],
        description="Why two sides match or not; each side is a record key (source/source_id) "
        "or a profile id (then its best-matching record). Null when a side is unknown or "
        "no match model is trained yet (`directory resolve`).",
    )
    def why(self, info: strawberry.Info, a: str, b: str) -> MatchExplanation | None:
        ctx: Context = info.context
        model = MODELS.current(ctx.writer)
        found = why(ctx.writer, model, a, b) if model else None
        return MatchExplanation.of(found) if found else None

    @strawberry.field(permission_classes=[IsAgent], description="Profiles by name, best first.")
    def search_profiles(self, info: strawberry.Info, name: str, first: int = 10) -> list[Profile]:
        ctx: Context = info.context
        found = service.search(ctx.writer, name=name, first=max(1, min(first, 100)))
        return [Profile(stored=p) for p in found]


@strawberry.type
class Rejection:
    line: int
    reason: str


@strawberry.type(description="What an ingest read, changed and refused")
class IngestResult:
    read: int
    created: int
    updated: int
    rejected: list[Rejection]
    profiles_created: int
    profiles_merged: int
    profiles_split: int

    @staticmethod
    def of(report: IngestReport) -> IngestResult:
        return IngestResult(
            read=report.read,
            created=report.created,
            updated=report.updated,
            rejected=[Rejection(line=r.line, reason=r.reason) for r in report.rejected],
            profiles_created=report.profiles_created,
            profiles_merged=report.profiles_merged,
            profiles_split=report.profiles_split,
        )


@strawberry.type
class Mutation:
    @strawberry.mutation(
        permission_classes=[IsSteward],
        description="Record a steward's judgement of two records (same, different or unsure), "
        "append-only: a newer judgement supersedes an older one. 'different' is a "
        "must-not-link rule that every later resolution, online and batch, obeys.",
    )
    def decide(
        self, info: strawberry.Info, a: str, b: str, decision: str, reason: str | None = None
    ) -> bool:
        ctx: Context = info.context
        if decision not in JUDGEMENTS:
            raise GraphQLError(f"decision must be one of {', '.join(JUDGEMENTS)}")
        role = ctx.role.value if ctx.role else "unknown"
        stored = ctx.writer.add_judgement(
            a, b, decision=decision, by=role, reason=reason, now=utc_now()
        )
        if not stored:
            raise GraphQLError(f"no record {a!r} or {b!r}")
        return True

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Ingest records in the record format; each is validated on its own, "
        "so a bad one is reported by its position and the others go in.",
    )
    async def ingest(self, info: strawberry.Info, records: list[JSON]) -> IngestResult:
        ctx: Context = info.context
        parsed = iter_json_array_items(records, default_region=ctx.settings.default_region)
        report = await run_in_threadpool(
            ingest_lines, ctx.writer, parsed, settings=ctx.settings, origin="graphql"
        )
        return IngestResult.of(report)


def _unexpected(error: GraphQLError) -> bool:
    """Errors the schema does not foresee (a graph failure, a bug): their text may
    hold internals, so clients get a generic message and the log gets the rest."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    extensions=[
        # Helpdesk tools send the same few query documents again and again; parsing
        # and validating them once is most of what a lookup would otherwise cost.
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
        lambda: MaskErrors(
            should_mask_error=_unexpected,
            error_message="internal error: the server log has the details",
        ),
    ],
)
