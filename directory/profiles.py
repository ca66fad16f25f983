"""Reading unified profiles: lookup by identifier, by id (old ids follow their
merges), by name; and the derived views a helpdesk agent reads — identifiers
grouped by type, one facet per network, a cross-channel timeline."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from graph.model import IpSighting, Link, StoredIdentifier, StoredProfile, StoredRecord
from graph.reader import GraphReader
from resolvers.deterministic import RULE_LEASE, RULE_MATCHED, RULE_SHARED, RULE_STEWARD
from resolvers.identifiers import KNOWN_TYPES, IdentifierError, canonical_type, normalise
from resolvers.leases import attribute
from resolvers.model import utc_text
from resolvers.names import fold

# An IP is evidence about who used it only near the time it was seen.
IP_WINDOW = timedelta(hours=24)


def lookup(
    reader: GraphReader,
    *,
    type_: str,
    value: str,
    region: str | None,
    at: datetime | None = None,
    window: timedelta = IP_WINDOW,
    authoritative: Sequence[str] = (),
) -> StoredProfile | None:
    """The one profile carrying an identifier; None when nobody or several people
    do. An IP is weak evidence: it finds the account a source in `authoritative`
    (an ISP's lease log) saw on it within `window` of `at`, by the rule
    resolution follows (`resolvers.leases`), and nobody otherwise."""
    if canonical_type(type_) == "ip":
        return _leaseholder(reader, value, at, window, authoritative) if at else None
    found = profiles_by_identifier(reader, type_=type_, value=value, region=region, limit=2)
    return found[0] if len(found) == 1 else None


def _leaseholder(
    reader: GraphReader, value: str, at: datetime, window: timedelta, authoritative: Sequence[str]
) -> StoredProfile | None:
    key = _ip_key(value)
    if key is None:
        return None
    span = (key, utc_text(at - window), utc_text(at + window))
    asked = IpSighting("", key, utc_text(at), authoritative=False, accounts=())
    seen = reader.ip_sightings([span], authoritative=authoritative)
    edge = attribute([*seen, asked], window).get("")
    found = reader.profiles_carrying_identifier(edge.account, 2) if edge else []
    return found[0] if len(found) == 1 else None


@dataclass
class IpCandidate:
    """A profile whose records were seen on an IP, and how close to the time asked."""

    profile: StoredProfile
    sightings: int  # records of the profile seen on the IP (within the window)
    closest_seen_at: str | None
    distance_s: float | None  # from the time asked to the closest sighting
    leased: bool  # some of those sightings come from a source authoritative for IPs


def ip_candidates(
    reader: GraphReader,
    *,
    value: str,
    at: datetime | None,
    window: timedelta = IP_WINDOW,
    first: int = 10,
    authoritative: Sequence[str] = (),
) -> list[IpCandidate]:
    """Profiles seen on an IP: those an authoritative source saw on it first, then
    nearest in time, then most sightings (an IP is weak evidence: a household,
    an office or a carrier's NAT share it)."""
    key = _ip_key(value)
    if key is None:
        return []
    sightings: dict[str, list[tuple[float | None, str | None, bool]]] = defaultdict(list)
    for profile_id, source, seen_at in reader.identifier_sightings(key):
        distance = _distance_s(seen_at, at)
        if at is None or (distance is not None and distance <= window.total_seconds()):
            sightings[profile_id].append((distance, seen_at, source in authoritative))
    ranked = sorted(
        sightings.items(),
        key=lambda item: (not any(s[2] for s in item[1]), _nearest(item[1]), -len(item[1])),
    )
    found = []
    for profile_id, seen in ranked[:first]:
        profile = reader.profile(profile_id)
        if profile is not None:
            distance, seen_at, _ = min(seen, key=lambda s: (s[0] is None, s[0] or 0.0))
            leased = any(s[2] for s in seen)
            found.append(IpCandidate(profile, len(seen), seen_at, distance, leased))
    return found


def _ip_key(value: str) -> str | None:
    """The graph key of an IP as written, or None when it is not an IP."""
    try:
        return f"ip:{normalise('ip', value)}"
    except IdentifierError:
        return None


def _distance_s(seen_at: str | None, at: datetime | None) -> float | None:
    if seen_at is None or at is None:
        return None
    seen = datetime.fromisoformat(seen_at)
    moment = at if at.tzinfo else at.replace(tzinfo=UTC)
    return abs((seen - moment).total_seconds())


def _nearest(seen: list[tuple[float | None, str | None, bool]]) -> float:
    distances = [d for d, _, _ in seen if d is not None]
    return min(distances) if distances else float("inf")


def profiles_by_identifier(
    reader: GraphReader, *, type_: str, value: str, region: str | None, limit: int = 20
) -> list[StoredProfile]:
    """Profiles carrying an identifier (a generic value may have many), largest first."""
    kind = canonical_type(type_)
    try:
        key = f"{kind}:{normalise(kind, value, region=region)}"
    except IdentifierError:
        return []
    found = reader.profiles_carrying_identifier(key, limit)
    return sorted(found, key=lambda p: (-len(p.records), p.id))


def get_profile(reader: GraphReader, *, profile_id: str) -> StoredProfile | None:
    """A profile by id; an id merged into another resolves to the survivor."""
    live = reader.resolve_profile_id(profile_id)
    return reader.profile(live) if live else None


def search(reader: GraphReader, *, name: str, first: int) -> list[StoredProfile]:
    """Profiles whose records' names match, best first."""
    # Plain folded words only: "-", "@", "|", "*" are operators to the full-text engines.
    query = fold(name)
    if not query:
        return []
    profiles = (reader.profile(pid) for pid in reader.search_names(query, first))
    return [p for p in profiles if p is not None]


@dataclass
class MergedIdentifier:
    """One identifier value across the profile's records."""

    type: str
    value: str
    strength: str
    generic: bool
    people: int | None
    sources: list[str] = field(default_factory=list)
    first_seen: str | None = None
    last_seen: str | None = None


def identifiers(profile: StoredProfile) -> list[MergedIdentifier]:
    """Each identifier value once, with the sources that carry it."""
    merged: dict[tuple[str, str], MergedIdentifier] = {}
    for record in profile.records:
        for stored in record.identifiers:
            item = merged.get((stored.type, stored.value))
            if item is None:
                item = merged[(stored.type, stored.value)] = _merged(stored)
            if record.source not in item.sources:
                item.sources.append(record.source)
            item.first_seen = _min(item.first_seen, stored.first_seen)
            item.last_seen = _max(item.last_seen, stored.seen_at or stored.last_seen)
    return sorted(merged.values(), key=lambda i: (i.type, i.value))


def _merged(stored: StoredIdentifier) -> MergedIdentifier:
    return MergedIdentifier(
        stored.type, stored.value, stored.strength, bool(stored.generic), stored.people
    )


def _min(a: str | None, b: str | None) -> str | None:
    return min(x for x in (a, b) if x) if (a or b) else None


def _max(a: str | None, b: str | None) -> str | None:
    return max(x for x in (a, b) if x) if (a or b) else None


@dataclass
class Facet:
    """What the person is on one network or system."""

    source: str
    names: list[str]
    records: list[StoredRecord]
    attributes: dict[str, str]
    topics: list[str]
    last_seen: str | None


def facets(profile: StoredProfile) -> list[Facet]:
    """One facet per source: its names, attributes (newest wins) and topics."""
    by_source: dict[str, list[StoredRecord]] = defaultdict(list)
    for record in profile.records:
        by_source[record.source].append(record)
    return [_facet(source, records) for source, records in sorted(by_source.items())]


def _facet(source: str, records: list[StoredRecord]) -> Facet:
    oldest_first = sorted(records, key=lambda r: r.observed_at or "")
    attributes: dict[str, str] = {}
    for record in oldest_first:
        attributes.update(record.attributes)
    names = list(dict.fromkeys(r.name for r in reversed(oldest_first) if r.name))
    topics = list(dict.fromkeys(t for r in oldest_first for t in r.topics))
    return Facet(source, names, oldest_first, attributes, topics, oldest_first[-1].observed_at)


def timeline(profile: StoredProfile, first: int) -> list[StoredRecord]:
    """Interactions across channels (records with text), newest first."""
    events = [r for r in profile.records if r.text]
    events.sort(key=lambda r: (r.observed_at or "", r.key), reverse=True)
    return events[:first]


@dataclass
class CandidateValue:
    """One source's value of an attribute."""

    value: str
    source: str
    record: str
    observed_at: str | None


@dataclass
class GoldenAttribute:
    """The value a profile shows for an attribute, and every value it could show."""

    name: str
    value: str
    source: str | None  # None: a steward's override
    overridden: bool
    candidates: list[CandidateValue]


def golden_record(
    profile: StoredProfile, source_rank: Callable[[str], int]
) -> list[GoldenAttribute]:
    """Survivorship per attribute (name included): a steward's override wins,
    then the most trusted source (settings' source priority), then the newest."""
    values: dict[str, list[CandidateValue]] = defaultdict(list)
    for record in profile.records:
        pairs = [("name", record.name)] if record.name else []
        pairs += sorted(record.attributes.items())
        for name, value in pairs:
            found = CandidateValue(value, record.source, record.key, record.observed_at)
            values[name].append(found)
    golden = []
    for name, candidates in sorted(values.items(), key=lambda item: (item[0] != "name", item[0])):
        candidates.sort(key=lambda c: c.observed_at or "", reverse=True)
        candidates.sort(key=lambda c: source_rank(c.source))  # stable: newest first within
        distinct: dict[str, CandidateValue] = {}
        for candidate in candidates:
            distinct.setdefault(candidate.value, candidate)
        override = profile.overrides.get(name)
        winner = candidates[0]
        golden.append(
            GoldenAttribute(
                name=name,
                value=override if override is not None else winner.value,
                source=None if override is not None else winner.source,
                overridden=override is not None,
                candidates=list(distinct.values()),
            )
        )
    return golden


def find(
    reader: GraphReader, *, query: str, region: str | None, first: int = 20
) -> list[StoredProfile]:
    """The search box: a profile id, an identifier (as `type:value`, or any value
    some identifier type reads, e.g. an email, a phone, an @handle), or a name.
    Identifier matches come first."""
    text = query.strip()
    if not text:
        return []
    found: dict[str, StoredProfile] = {}
    if (live := reader.resolve_profile_id(text)) and (profile := reader.profile(live)):
        found[profile.id] = profile
    type_, _, value = text.partition(":")
    if value and canonical_type(type_) in KNOWN_TYPES:
        guesses = [(canonical_type(type_), value)]
    else:
        guesses = [(kind, text) for kind in sorted(KNOWN_TYPES) if kind != "ip"]
        guesses += [("ip", text)] if any(c in text for c in ".:") else []
    for kind, raw in guesses:
        for profile in profiles_by_identifier(
            reader, type_=kind, value=raw, region=region, limit=first
        ):
            found.setdefault(profile.id, profile)
    for profile in search(reader, name=text, first=first):
        found.setdefault(profile.id, profile)
    return list(found.values())[:first]


def describe_link(link: Link) -> str:
    """Why a record is in its profile, in words."""
    if link.rule == RULE_SHARED and link.via:
        return f"shares {link.via} with record {link.via_record}"
    if link.rule == RULE_LEASE:
        return f"seen on an IP leased to {link.via} then (record {link.via_record})"
    if link.rule == RULE_MATCHED:
        return f"the match model linked it to record {link.via_record}"
    if link.rule == RULE_STEWARD:
        return f"a steward judged it the same as record {link.via_record}"
    return "first record of this profile"
