"""What the graph layer hands out and takes in: plain, typed values, so no
engine's result objects leak above `graph/`."""

from __future__ import annotations

import inspect
from dataclasses import MISSING, dataclass, field, fields
from operator import attrgetter
from typing import Any, TypeVar, cast

# Identifier strengths whose values link records on their own (resolvers.model.Strength).
LINKING_STRENGTHS = ["strong", "medium"]
T = TypeVar("T")
_FROM_FACTORY = object()  # an argument left to its field's default factory


def quick_init(cls: type[T]) -> type[T]:
    """Give a frozen slotted dataclass an `__init__` that sets each slot
    through its descriptor, taken once: dataclasses' own looks
    `object.__setattr__` up for each field (1.6 µs for ten fields, against
    0.8 µs), and a million records make several such objects each. The same
    arguments, defaults and default factories; no `__post_init__`."""
    assert "__slots__" in vars(cls), f"{cls.__name__}: not slotted"
    assert not hasattr(cls, "__post_init__"), f"{cls.__name__}: has __post_init__"
    namespace: dict[str, Any] = {"_FROM_FACTORY": _FROM_FACTORY}
    params, body = [], []
    for f in fields(cast(Any, cls)):  # a dataclass, as asserted by fields()
        namespace[f"_set_{f.name}"] = vars(cls)[f.name].__set__
        if f.default is not MISSING:
            namespace[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
        elif f.default_factory is not MISSING:
            namespace[f"_factory_{f.name}"] = f.default_factory
            params.append(f"{f.name}=_FROM_FACTORY")
            body.append(f"    if {f.name} is _FROM_FACTORY: {f.name} = _factory_{f.name}()")
        else:
            params.append(f.name)
        body.append(f"    _set_{f.name}(self, {f.name})")
    source = f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body) + "\n"
    namespace["__name__"] = cls.__module__
    exec(source, namespace)  # noqa: S102 - made here from the fields' names
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    # The same parameters as dataclasses' own: not for init=False,
    # keyword-only or InitVar fields, which it would get wrong.
    assert _parameters(init) == _parameters(cls.__init__), f"{cls.__name__}: other fields"
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


def pickled_by_fields(cls: type[T]) -> type[T]:
    """Pickle a frozen slotted dataclass as a call with its fields' values. Its
    own pickling sets each field through `object.__setattr__` on the way back:
    records handed over by the parsing processes of a bulk load took about
    twice as long to pickle and a third longer to unpickle."""
    names = cls.__slots__  # type: ignore[attr-defined]
    assert len(names) > 1, "attrgetter gives one field alone, not in a tuple"
    values = attrgetter(*names)

    def reduce(self: T) -> tuple[type[T], Any]:
        assert type(self) is cls, "a subclass would come back as its parent"
        return cls, values(self)

    cls.__reduce__ = reduce  # type: ignore[assignment,method-assign]
    return cls


def _parameters(function: Any) -> list[tuple[str, Any, bool]]:
    """Each parameter's name, kind and whether it has a default."""
    return [
        (p.name, p.kind, p.default is not p.empty)
        for p in inspect.signature(function).parameters.values()
    ]


@quick_init
@dataclass(frozen=True, slots=True)
class RecordRow:
    """A record as stored, with the keys of its identifiers that may link it."""

    key: str
    source: str
    kind: str
    name: str | None
    observed_at: str | None
    profile_id: str | None
    linking_keys: tuple[str, ...]
    link: Link | None = None
    matched: tuple[str, ...] = ()  # records a probabilistic link joins it to
    leased: tuple[str, ...] = ()  # accounts an authoritative IP sighting attributes it to


@dataclass(frozen=True)
class IpSighting:
    """A record seen on an IP at a moment, with the accounts it carries."""

    record: str
    ip: str  # identifier key
    seen_at: str  # UTC text
    authoritative: bool  # from a source that says who held the IP
    accounts: tuple[str, ...]  # the record's non-generic account identifier keys


@dataclass(frozen=True)
class LeaseEdge:
    """A record attributed to an account: seen on an IP near a sighting from a
    source authoritative for IPs (the lease), and nobody else's account there."""

    record: str
    account: str  # identifier key
    ip: str
    seen_at: str
    lease_record: str
    lease_seen_at: str


@dataclass(frozen=True)
class Namesakes:
    """Per record key, up to a limit of other records whose names match its
    full-text query, best first; and those records' matching rows."""

    found: dict[str, list[str]]
    rows: list[MatchingRow]


@dataclass(frozen=True)
class BatchStart:
    """What an ingest batch reads first, in one round trip."""

    settings: dict[str, str]
    states: dict[str, RecordState]  # of the batch's records already stored
    namesakes: Namesakes | None  # when name queries were given
    sharing: dict[str, tuple[bool, int | None]]  # stored identifier key -> (generic, people)


@dataclass(frozen=True)
class RecordState:
    """What is stored of a record before an update."""

    profile_id: str | None
    link: Link | None
    identifier_keys: frozenset[str]


@dataclass(frozen=True)
class IdentifierUsage:
    """Who carries an identifier: its record count and (some of) their names."""

    key: str
    generic: bool
    records: int
    names: list[str]
    people: int | None = None  # as stored: counted when it was last marked


@quick_init
@dataclass(frozen=True, slots=True)
class Link:
    """Why a record belongs to its profile."""

    record: str
    profile_id: str
    rule: str
    via: str | None = None
    via_record: str | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class ProfileSummary:
    """The derived fields stored on a profile node."""

    id: str
    kind: str
    display_name: str | None
    record_count: int


@dataclass
class StoredIdentifier:
    type: str
    value: str
    strength: str
    generic: bool
    people: int | None
    seen_at: str | None
    first_seen: str | None
    last_seen: str | None


@dataclass
class StoredRecord:
    key: str
    source: str
    source_id: str
    kind: str
    observed_at: str | None
    name: str | None
    text: str | None
    topics: list[str]
    attributes: dict[str, str]
    ingested_at: str | None
    updated_at: str | None
    link: Link
    identifiers: list[StoredIdentifier] = field(default_factory=list)


@dataclass
class StoredProfile:
    id: str
    kind: str
    display_name: str | None
    created_at: str | None
    updated_at: str | None
    records: list[StoredRecord]
    overrides: dict[str, str] = field(default_factory=dict)  # a steward's chosen values


@quick_init
@dataclass(frozen=True, slots=True)
class MatchingRow:
    """A record as the match model and the batch resolver read it."""

    key: str
    source: str
    kind: str
    name: str | None
    observed_at: str | None
    attributes: dict[str, str]
    profile_id: str | None
    link: Link | None
    identifiers: list[tuple[str, str, str, bool, int | None]]  # type, value, strength,
    # generic, people seen on it

    def for_resolution(
        self, *, matched: tuple[str, ...] = (), leased: tuple[str, ...] = ()
    ) -> RecordRow:
        """The record as resolution reads it: its linking identifiers (strong or
        medium, not generic) and what else joins it."""
        linking = tuple(
            dict.fromkeys(
                f"{type_}:{value}"
                for type_, value, strength, generic, _ in self.identifiers
                if strength in LINKING_STRENGTHS and not generic
            )
        )
        return RecordRow(self.key, self.source, self.kind, self.name, self.observed_at,
                         self.profile_id, linking, self.link, matched, leased)  # fmt: skip


@dataclass(frozen=True)
class MatchEdge:
    """A scored pair of records: a probabilistic link, or a review candidate."""

    left: str
    right: str
    weight: float
    probability: float
    reason: str | None = None  # review candidates: why it was not linked


@dataclass(frozen=True)
class Judgement:
    """A person's judgement of two records (append-only; the newest for a pair
    counts). `decision`: same, different, unsure, or retracted (an undo that
    left the pair unjudged)."""

    id: str
    left: str
    right: str
    decision: str
    by: str
    at: str
    reason: str | None = None
    score: float | None = None  # the match probability when it was judged


@dataclass(frozen=True)
class Event:
    """A steward's action, with the state before and after (JSON-able dicts)."""

    id: str
    action: str  # decide, merge, split, override, undo
    by: str
    at: str
    summary: str
    profiles: list[str]  # every profile id it touched, before and after
    detail: dict[str, Any]
    undone_by: str | None = None


@dataclass(frozen=True)
class ReviewRow:
    """A stored review candidate with what the queue ranks it by."""

    left: str
    right: str
    weight: float
    probability: float
    reason: str | None
    at: str | None
    left_profile: str
    right_profile: str
    left_size: int
    right_size: int
    left_source: str
    right_source: str
    kind: str  # of the left record's profile
    right_kind: str
    touched_at: str | None
    status: str  # pending or unsure
