"""The GraphQL API (Strawberry, code first). `schema.graphql` is exported from
`schema`; a test fails when the committed file is stale.

Resolvers are thin: they check the role, call `directory.profiles` (inline:
reads are fast) or `directory.ingest` (in a worker thread) and wrap the result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool
from strawberry.permission import BasePermission
from strawberry.scalars import JSON

from directory import experts as experts_service
from directory import profiles as service
from directory import stewardship
from directory.auth import Caller, Role
from directory.ingest import MODELS, IngestReport, ingest_lines
from directory.priority import source_order, source_rank
from directory.settings import Settings
from graph.model import Event, StoredProfile, StoredRecord
from graph.store import GraphWriter
from resolvers.explain import PairExplanation, why
from resolvers.records import iter_json_array_items


@dataclass
class Context:
    """Per-request context: the graph, the settings and the caller's role."""

    writer: GraphWriter
    settings: Settings
    caller: Caller | None

    @property
    def role(self) -> Role | None:
        return self.caller.role if self.caller else None

    @property
    def who(self) -> str:
        """The name actions are attributed to."""
        return self.caller.name if self.caller else "unknown"


def _needs(role: Role) -> type[BasePermission]:
    class Needs(BasePermission):
        message = f"this needs an API key with the {role.value} role (or higher)"

        def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
            current: Role | None = info.context.role
            return current is not None and current.allows(role)

    Needs.__name__ = f"Needs{role.value.title()}"
    return Needs


IsAgent, IsSteward, IsAdmin = _needs(Role.AGENT), _needs(Role.STEWARD), _needs(Role.ADMIN)


@strawberry.input(description="An identifier as any channel sees it, e.g. twitter / @cfrancavilla")
class IdentifierInput:
    type: str
    value: str
    region: str | None = strawberry.field(
        default=None, description="ISO country to read a national phone number in"
    )
    at: str | None = strawberry.field(
        default=None,
        description="for an IP: when it was used (ISO-8601). An IP finds a profile only "
        "through a source authoritative for IPs (an ISP's lease log) that saw its account "
        "on it near that time; see ipCandidates for the weaker evidence",
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
        description="seed (first record of the profile), shared-identifier, ip-lease (seen "
        "on an IP that a source authoritative for IPs leased to the account `via` then, "
        "in via_record), steward (a steward judged it the same as via_record), or probabilistic "
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


@strawberry.type(description="One source's value of an attribute")
class CandidateValue:
    value: str
    source: str
    record: str
    observed_at: str | None


@strawberry.type(description="The value a profile shows for an attribute, and the others")
class GoldenAttribute:
    name: str
    value: str
    source: str | None = strawberry.field(description="null when a steward chose the value")
    overridden: bool
    candidates: list[CandidateValue]


@strawberry.type(description="One resolved person: a customer or an employee")
class Profile:
    # The scalar fields are plain attributes, copied once: a field without a
    # resolver skips Strawberry's resolver wrapper, which a lookup pays per field.
    stored: strawberry.Private[StoredProfile]
    id: strawberry.ID
    kind: str = strawberry.field(description="customer or employee")
    display_name: str | None = strawberry.field(
        description="by source priority (hr, crm, ...), then the newest record"
    )
    created_at: str | None
    updated_at: str | None

    @staticmethod
    def of(stored: StoredProfile) -> Profile:
        return Profile(
            stored=stored, id=strawberry.ID(stored.id), kind=stored.kind,
            display_name=stored.display_name, created_at=stored.created_at,
            updated_at=stored.updated_at,
        )  # fmt: skip

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

    @strawberry.field(
        description="the value shown for each attribute (name included) and every value "
        "the sources give: a steward's override, else source priority, else the newest"
    )
    def golden(self, info: strawberry.Info) -> list[GoldenAttribute]:
        ctx: Context = info.context
        return [
            GoldenAttribute(
                name=g.name, value=g.value, source=g.source, overridden=g.overridden,
                candidates=[CandidateValue(**vars(c)) for c in g.candidates],
            )
            for g in service.golden_record(self.stored, source_rank(ctx.writer, ctx.settings))
        ]  # fmt: skip

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
    return LinkExplanation(
        rule=link.rule, via=link.via, via_record=link.via_record,
        description=service.describe_link(link),
    )  # fmt: skip


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
    leased: bool = strawberry.field(
        description="a source authoritative for IPs (an ISP's lease log) saw its account "
        "on the IP in the window: the strongest evidence an IP gives"
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
    return Profile.of(stored) if stored else None


@strawberry.type
class Rejection:
    line: int
    reason: str


@strawberry.type(description="A person's judgement of two records")
class JudgementEntry:
    id: strawberry.ID
    left: str
    right: str
    decision: str = strawberry.field(description="same, different, unsure or retracted")
    by: str
    at: str
    reason: str | None
    score: float | None = strawberry.field(description="match probability when judged")


@strawberry.type(description="A steward's action, as the audit trail keeps it")
class StewardAction:
    id: strawberry.ID
    action: str = strawberry.field(description="decide, merge, split, override, import, undo")
    by: str
    at: str
    summary: str
    profiles: list[str] = strawberry.field(description="every profile id it touched")
    undone_by: str | None
    before: JSON = strawberry.field(description="each touched profile before: records, name")
    after: JSON

    @staticmethod
    def of(event: Event) -> StewardAction:
        return StewardAction(
            id=strawberry.ID(event.id), action=event.action, by=event.by, at=event.at,
            summary=event.summary, profiles=event.profiles, undone_by=event.undone_by,
            before=event.detail.get("before", {}), after=event.detail.get("after", {}),
        )  # fmt: skip


def _act(action: Callable[[], Event]) -> StewardAction:
    """Run a steward action; a refusal reaches the client as a clear error."""
    try:
        return StewardAction.of(action())
    except stewardship.StewardError as error:
        raise GraphQLError(str(error)) from None


@strawberry.type(description="Two records the match model could not decide on")
class ReviewCandidate:
    left: str
    right: str
    probability: float
    weight: float
    reason: str | None
    status: str = strawberry.field(description="pending or unsure")
    priority: float = strawberry.field(description="probability x size factor: the queue order")
    size_factor: float = strawberry.field(description="1 + log2(records of both profiles)")
    left_profile: strawberry.ID
    right_profile: strawberry.ID
    left_size: int
    right_size: int
    touched_at: str | None

    @staticmethod
    def of(item: stewardship.QueueItem) -> ReviewCandidate:
        c = item.candidate
        return ReviewCandidate(
            left=c.left, right=c.right, probability=c.probability, weight=c.weight,
            reason=c.reason, status=c.status, priority=item.priority,
            size_factor=item.size_factor, left_profile=strawberry.ID(c.left_profile),
            right_profile=strawberry.ID(c.right_profile), left_size=c.left_size or 0,
            right_size=c.right_size or 0, touched_at=c.touched_at,
        )  # fmt: skip


@strawberry.type(description="Who a hit is")
class PersonRef:
    id: strawberry.ID
    display_name: str | None


@strawberry.type(description="One asked skill's part of an expert's score")
class SkillScore:
    skill: str
    score: float = strawberry.field(description="log2(1 + inferred) + 0.5 if declared")
    inferred: float = strawberry.field(
        description="evidence weights (wiki, blog 1; helpdesk 0.8; microblog 0.5), each "
        "halved every 180 days of age"
    )
    evidence: int = strawberry.field(description="records behind it")
    declared: bool = strawberry.field(description="the person lists it themselves (HR)")
    last_seen: str | None


@strawberry.type(description="A record that shows the skill")
class EvidenceSnippet:
    record: str
    source: str
    at: str | None
    text: str
    skills: list[str]


@strawberry.type(description="A way to reach an expert")
class ContactPoint:
    type: str
    value: str


@strawberry.type(description="An employee who knows about what was asked")
class ExpertHit:
    score: float = strawberry.field(description="the sum of the asked skills' scores")
    profile: PersonRef
    skills: list[SkillScore] = strawberry.field(description="the score's parts")
    department: str | None
    title: str | None
    location: str | None
    manager: str | None = strawberry.field(description="the manager's employee id")
    contact: list[ContactPoint]
    evidence: list[EvidenceSnippet]

    @staticmethod
    def of(hit: experts_service.ExpertHit) -> ExpertHit:
        return ExpertHit(
            score=hit.score,
            profile=PersonRef(id=strawberry.ID(hit.profile_id), display_name=hit.display_name),
            skills=[SkillScore(**vars(m)) for m in hit.matches],
            department=hit.department, title=hit.title, location=hit.location,
            manager=hit.manager,
            contact=[ContactPoint(type=t, value=v) for t, v in hit.contact],
            evidence=[EvidenceSnippet(**vars(s)) for s in hit.evidence],
        )  # fmt: skip


@strawberry.type
class ImportResult:
    read: int
    imported: int
    skipped: list[Rejection]


@strawberry.type
class Query:
    # Reads are a few index lookups (about a millisecond), so they run inline:
    # a hop to a worker thread would cost more than it frees the event loop.

    @strawberry.field(
        permission_classes=[IsAgent],
        description="The one profile carrying an identifier; null when nobody (or several "
        "different people: a generic value) carries it. An IP (with `at`) finds the account "
        "an authoritative source leased it to then, and nobody otherwise.",
    )
    def lookup(self, info: strawberry.Info, identifier: IdentifierInput) -> Profile | None:
        ctx: Context = info.context
        region = identifier.region or ctx.settings.default_region
        found = service.lookup(
            ctx.writer, type_=identifier.type, value=identifier.value, region=region,
            at=_moment(identifier.at), window=ctx.settings.ip_window,
            authoritative=ctx.settings.ip_authoritative_sources,
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
            first=max(1, min(first, 50)), authoritative=ctx.settings.ip_authoritative_sources,
        )  # fmt: skip
        return [
            IpCandidate(profile=Profile.of(c.profile), sightings=c.sightings,
                        closest_seen_at=c.closest_seen_at, distance_seconds=c.distance_s,
                        leased=c.leased)
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
        return [Profile.of(p) for p in found]

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

    @strawberry.field(
        permission_classes=[IsSteward],
        description="Review candidates, most consequential first (probability x size "
        "factor); status pending or unsure; filter by a source either record is from, "
        "or by profile kind.",
    )
    def review_queue(
        self, info: strawberry.Info, status: str = "pending",
        from_source: Annotated[str | None, strawberry.argument(name="source")] = None,
        kind: str | None = None, first: int = 50,
    ) -> list[ReviewCandidate]:  # fmt: skip
        ctx: Context = info.context
        try:
            found = stewardship.review_queue(ctx.writer, status=status, source=from_source,
                                             kind=kind, first=max(1, min(first, 500)))  # fmt: skip
        except stewardship.StewardError as error:
            raise GraphQLError(str(error)) from None
        return [ReviewCandidate.of(item) for item in found]

    @strawberry.field(
        permission_classes=[IsSteward],
        description="Steward actions newest first: all, or those about one profile.",
    )
    def history(
        self, info: strawberry.Info, profile_id: strawberry.ID | None = None, first: int = 100
    ) -> list[StewardAction]:
        ctx: Context = info.context
        try:
            found = stewardship.history(
                ctx.writer, profile_id=str(profile_id) if profile_id else None, first=first
            )
        except stewardship.StewardError as error:
            raise GraphQLError(str(error)) from None
        return [StewardAction.of(event) for event in found]

    @strawberry.field(
        permission_classes=[IsSteward],
        description="Every judgement ever made, oldest first (export; `importJudgements` "
        "replays them).",
    )
    def judgements(self, info: strawberry.Info) -> list[JudgementEntry]:
        ctx: Context = info.context
        return [
            JudgementEntry(**dict(vars(j), id=strawberry.ID(j.id)))
            for j in ctx.writer.all_judgements()
        ]

    @strawberry.field(
        permission_classes=[IsAgent],
        description="Who knows about this? A question or a pasted customer message in any of "
        "English, Spanish or French; employees ranked by the skills it asks about "
        "(not-searchable employees never appear; fields limited to higher roles are null).",
    )
    def experts(self, info: strawberry.Info, query: str, first: int = 10) -> list[ExpertHit]:
        ctx: Context = info.context
        found = experts_service.search(
            ctx.writer, query=query, first=max(1, min(first, 50)), role=ctx.role,
            field_roles=ctx.settings.field_roles,
        )  # fmt: skip
        return [ExpertHit.of(hit) for hit in found.hits]

    @strawberry.field(
        permission_classes=[IsAgent],
        description="Which source's value wins, most trusted first (setSourcePriority).",
    )
    def source_priority(self, info: strawberry.Info) -> list[str]:
        ctx: Context = info.context
        return source_order(ctx.writer, ctx.settings)

    @strawberry.field(permission_classes=[IsAgent], description="Profiles by name, best first.")
    def search_profiles(self, info: strawberry.Info, name: str, first: int = 10) -> list[Profile]:
        ctx: Context = info.context
        found = service.search(ctx.writer, name=name, first=max(1, min(first, 100)))
        return [Profile.of(p) for p in found]


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
        description="Judge two records (source/source_id): 'same' joins their profiles, "
        "'different' keeps them apart in every later resolution (online and batch), "
        "'unsure' keeps them aside in the queue. Append-only: a newer judgement "
        "supersedes an older one.",
    )
    def decide(
        self, info: strawberry.Info, a: str, b: str, decision: str, reason: str | None = None
    ) -> StewardAction:
        ctx: Context = info.context
        return _act(lambda: stewardship.decide(
            ctx.writer, ctx.settings, left=a, right=b, decision=decision, by=ctx.who,
            reason=reason,
        ))  # fmt: skip

    @strawberry.mutation(
        permission_classes=[IsSteward],
        description="Merge profiles into the one with the surviving id (default: the "
        "biggest); the other ids redirect to it. Kept together by 'same' judgements.",
    )
    def merge(
        self, info: strawberry.Info, profile_ids: list[strawberry.ID],
        survivor: strawberry.ID | None = None, reason: str | None = None,
    ) -> StewardAction:  # fmt: skip
        ctx: Context = info.context
        return _act(lambda: stewardship.merge(
            ctx.writer, ctx.settings, profile_ids=[str(p) for p in profile_ids],
            survivor=str(survivor) if survivor else None, by=ctx.who, reason=reason,
        ))  # fmt: skip

    @strawberry.mutation(
        permission_classes=[IsSteward],
        description="Move records (source/source_id keys) out of a profile into a new "
        "one; stored as 'different' judgements so resolution does not re-merge them.",
    )
    def split(
        self, info: strawberry.Info, profile_id: strawberry.ID, records: list[str],
        reason: str | None = None,
    ) -> StewardAction:  # fmt: skip
        ctx: Context = info.context
        return _act(lambda: stewardship.split(
            ctx.writer, ctx.settings, profile_id=str(profile_id), records=records,
            by=ctx.who, reason=reason,
        ))  # fmt: skip

    @strawberry.mutation(
        permission_classes=[IsSteward],
        description="Choose the value a profile shows for an attribute; a null value "
        "goes back to the source-priority rule.",
    )
    def override(
        self, info: strawberry.Info, profile_id: strawberry.ID, attribute: str,
        value: str | None = None,
    ) -> StewardAction:  # fmt: skip
        ctx: Context = info.context
        return _act(lambda: stewardship.override(
            ctx.writer, ctx.settings, profile_id=str(profile_id), attribute=attribute,
            value=value, by=ctx.who,
        ))  # fmt: skip

    @strawberry.mutation(
        permission_classes=[IsSteward],
        description="Put back the state before a steward action (by its id), when no "
        "later action on its profiles depends on it.",
    )
    def undo(self, info: strawberry.Info, action_id: strawberry.ID) -> StewardAction:
        ctx: Context = info.context
        return _act(lambda: stewardship.undo(
            ctx.writer, ctx.settings, event_id=str(action_id), by=ctx.who
        ))  # fmt: skip

    @strawberry.mutation(
        permission_classes=[IsSteward],
        description="Which source's value wins (display name, golden record), most trusted "
        "first; sources left out come after these.",
    )
    def set_source_priority(self, info: strawberry.Info, sources: list[str]) -> StewardAction:
        ctx: Context = info.context
        return _act(lambda: stewardship.set_source_priority(
            ctx.writer, ctx.settings, order=sources, by=ctx.who
        ))  # fmt: skip

    @strawberry.mutation(
        permission_classes=[IsSteward],
        description="Whether an employee appears in expert search (true by default).",
    )
    def set_searchable(
        self, info: strawberry.Info, profile_id: strawberry.ID, searchable: bool
    ) -> bool:
        ctx: Context = info.context
        live = ctx.writer.resolve_profile_id(str(profile_id))
        if live is None or not ctx.writer.set_searchable(live, searchable):
            raise GraphQLError(f"no profile {profile_id!r}")
        return True

    @strawberry.mutation(
        permission_classes=[IsSteward],
        description="Replay exported judgements (objects as `judgements` returns them), "
        "in order; unknown records are skipped and reported.",
    )
    def import_judgements(self, info: strawberry.Info, judgements: list[JSON]) -> ImportResult:
        ctx: Context = info.context
        lines = [(n, item) for n, item in enumerate(judgements, 1) if isinstance(item, dict)]
        report = stewardship.import_judgements(ctx.writer, ctx.settings, lines, by=ctx.who)
        return ImportResult(
            read=report.read, imported=report.imported,
            skipped=[Rejection(line=line, reason=reason) for line, reason in report.skipped],
        )  # fmt: skip

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


# Served over HTTP by `directory.graphql_http`, which caches documents and masks
# unexpected errors.
schema = strawberry.Schema(query=Query, mutation=Mutation)
