"""Probabilistic linking decisions, shared by the batch and the online executor.

A scored pair above the match threshold links two groups of records (profiles
as the deterministic rules and earlier decisions made them) only when the
groups are compatible as wholes. The threshold is lower for a pair that agrees
on more than names (a birth date, personal id, address, email or phone): names
alone are what namesakes share. Conflicting facts between the groups are
clearly different birth dates, clearly different ids of one type, and given
names that show two people, each counted when two records (one per group)
differ on it and no two agree on it (the profile's best evidence: a variant an
earlier link accepted is not held against every later record; see
`stated_facts` for what agrees). One such fact asks for odds a hundred times
higher before the link is made: keyed data is full of one mistyped date or id
(Febrl's duplicates are). Two are the mark of two people (a parent and child
sharing an address and a family email): the link is never made automatically,
whatever the other evidence. The same personal id (national or employee id, which
households do not share) on both groups outweighs one of them. A
refused link, and every pair between the two thresholds, becomes a review
candidate for the stewards. Links are taken best
first and each one re-checks the grown groups, so evidence never chains
"A ~ B ~ C" into one profile when A and C conflict.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from operator import attrgetter

import numpy as np
from rapidfuzz.distance import OSA

from resolvers.comparisons import COMPARISONS, comparison_index, given_pair
from resolvers.features import Features
from resolvers.match_model import MatchModel, probability
from resolvers.names import gendered_pair, may_be_same_words, without_titles

# Records compared per side when checking two groups (a big profile is checked
# on a sample of its records, its oldest first).
_CHECKED_PER_GROUP = 40
BETWEEN_THRESHOLDS = "between the thresholds"  # the reason of a plain review candidate
_BIRTH_DATE = comparison_index("birth_date")
_GIVEN_NAME = comparison_index("given_name")
# Ids of one person only (unlike accounts, which households share).
PERSONAL_ID_TYPES = ("national_id", "employee_id")
# Levels of the given-name comparison that a typo reaches: exact, nickname, JW >= 0.92.
_CLOSE_GIVEN = (0, 1, 2)


@dataclass(frozen=True)
class Thresholds:
    """Match probabilities: link at or above `match`, or at or above
    `evidence_match` when the pair agrees on more than names (`beyond_names`);
    review from `review`."""

    match: float = 0.999
    review: float = 0.9
    blocking_conflicts: int = 2  # this many conflicting facts never link automatically
    evidence_match: float = 0.99

    def required(self, conflicts: int) -> float:
        """The probability a link needs despite `conflicts` conflicting facts:
        each asks for odds a hundred times higher; `blocking_conflicts` of them
        are two people (above 1: no probability reaches it)."""
        if conflicts >= self.blocking_conflicts:
            return 2.0
        return 1.0 - (1.0 - self.match) / 100.0**conflicts

    def may_link(self, probability: float, a: Features, b: Features) -> bool:
        """Whether a pair's probability reaches its bar (before conflicts)."""
        if probability >= self.match:
            return True
        return probability >= self.evidence_match and beyond_names(a, b)

    def __post_init__(self) -> None:
        if not 0.0 < self.review <= self.evidence_match <= self.match < 1.0:
            raise ValueError("thresholds need 0 < review <= evidence match <= match < 1")


@dataclass(frozen=True)
class ScoredPair:
    left: int
    right: int
    weight: float
    probability: float


@dataclass(frozen=True)
class Decisions:
    """What the scored pairs decided: links (each joined two groups), review
    candidates (with why they were not linked) and how many were refused."""

    links: list[ScoredPair]
    review: list[tuple[ScoredPair, str]]
    refused: int


def _levels(name: str, *labels: str) -> tuple[int, frozenset[int]]:
    index = comparison_index(name)
    return index, frozenset(COMPARISONS[index].labels.index(label) for label in labels)


# What a namesake would not share: agreeing on one of these is evidence beyond
# the name.
_BEYOND_NAMES = (
    _levels("birth_date", "exact", "one_typo", "day_month_swapped"),
    _levels("personal_id", "exact", "one_typo"),
    _levels("address", "exact", "jaro_winkler>=0.90"),
    _levels("email", "exact"),
    _levels("phone", "exact", "same_last_8_digits"),
)


def beyond_names(a: Features, b: Features) -> bool:
    """Whether two records agree on a birth date, personal id, address, email or
    phone (not a generic one: a family's email says nothing of which member).
    Names are the evidence the model over-counts (given name, family name and
    handles or email local parts made of them agree together) and the one that
    namesakes share: a link on names alone needs the higher match threshold."""
    for index, agreeing in _BEYOND_NAMES:
        comparison = COMPARISONS[index]
        level = comparison.level(a, b)
        if level not in agreeing:
            continue
        if level != 0 or comparison.agreed is None:
            return True
        if any(k not in a.shared_by and k not in b.shared_by for k in comparison.agreed(a, b)):
            return True
    return False


def conflicts(a: Features, b: Features) -> list[str]:
    """The facts that say two records are two people (empty: none)."""
    return _conflicting(f for f, agree in stated_facts(a, b).items() if not agree)


def stated_facts(a: Features, b: Features) -> dict[str, bool]:
    """The facts two records differ on (False) or agree on (True): the birth
    date (a typo or swapped day and month agree), each type of id (within two
    edits), the given name. Given names that may be one person's agree only
    when both records give a full given name and a family name: "Egan" and
    "E. Ferris" do not differ, but neither do they show one person."""
    found = {}
    if a.birth_date and b.birth_date:
        level = COMPARISONS[_BIRTH_DATE].level(a, b)
        found[_BIRTH] = a.birth_date == b.birth_date or (
            level is not None and COMPARISONS[_BIRTH_DATE].labels[level] != "different"
        )
    for type_ in sorted({t for t, _ in a.ids} & {t for t, _ in b.ids}):
        mine = [x for t, x in a.ids if t == type_]
        found[type_] = any(OSA.distance(x, y) <= 2 for t, y in b.ids if t == type_ for x in mine)
    if a.given and b.given:
        given = _given_names(a, b)
        if given is not None:
            found[_GIVEN] = given
    return found


_BIRTH, _GIVEN = "birth dates", "given names"


def _conflicting(facts: Iterable[str]) -> list[str]:
    """The conflicts that differing facts make, in a fixed order: one for the
    birth date, one for the ids (of the first type that differs), one for the
    given name."""
    differ = set(facts)
    ids = sorted(differ - {_BIRTH, _GIVEN})
    return [f"different {fact}" for fact in (_BIRTH, *ids[:1], _GIVEN) if fact in differ]


def _given_names(a: Features, b: Features) -> bool | None:
    """False for given names that show two people; True for two full names that
    may be one person's; None for names that may be one person's without
    showing it (a one-word name, an initial, a close given name with another
    family name). Names may be one person's by the lenient person-name rule
    (nicknames, initials, one typo, handles; Agustín and Agustina differ), or by
    the model's close given-name levels (typos, swapped order) unless the two
    are a gendered pair; the name comparison runs once for both questions."""
    if may_be_same_words(name_words(a), name_words(b)):
        return True if _full(a) and _full(b) else None
    x, y = given_pair(a, b)
    if COMPARISONS[_GIVEN_NAME].level(a, b) in _CLOSE_GIVEN and not gendered_pair(x, y):
        return None
    return False


def _full(f: Features) -> bool:
    return bool(f.given and len(f.given) > 1 and f.family)


def name_words(f: Features) -> tuple[str, ...]:
    """The record's name as `words` gives it (its words are folded already;
    joined and split again, they missed the cache at a million records)."""
    return without_titles(w for w in (f.given, *f.family) if w)


def groups_conflict(left: Sequence[Features], right: Sequence[Features]) -> tuple[int, str | None]:
    """The conflicting facts between two groups: each fact that two records (one
    per side) differ on and no two agree on; how many, and what they are. A
    group holding one record that agrees is evidence enough (the profile's best
    evidence, as the match is scored): a variant its earlier links accepted does
    not count against every later record. A personal id both groups carry counts
    one conflict fewer (see `shared_personal_id`)."""
    agreed: dict[str, bool] = {}
    for a in islice(left, _CHECKED_PER_GROUP):
        for b in islice(right, _CHECKED_PER_GROUP):
            for fact, agree in stated_facts(a, b).items():
                agreed[fact] = agreed.get(fact, False) or agree
    worst = _conflicting(fact for fact, agree in agreed.items() if not agree)
    if not worst:
        return 0, None
    reason = ", ".join(worst)
    shared = shared_personal_id(left, right)
    if shared is None:
        return len(worst), reason
    return len(worst) - 1, f"{reason} (one offset by the same {shared})"


def shared_personal_id(left: Sequence[Features], right: Sequence[Features]) -> str | None:
    """The type of a personal id (national or employee id) carried by both groups,
    or None. Households share accounts, emails, phones and addresses, but not
    these: the same one on both sides outweighs one conflicting fact (keyed data
    replaces a name or a date far more often than a person's id lands on another
    person's record). A value seen on more than two people is a placeholder, not
    evidence."""
    carried = {
        (type_, value)
        for f in left
        for type_, value in f.ids
        if type_ in PERSONAL_ID_TYPES and f.shared_by.get(f"{type_}:{value}", 1) <= 2
    }
    both = sorted(type_ for f in right for type_, value in f.ids if (type_, value) in carried)
    return both[0] if both else None


class Groups:
    """Union-find over record indexes, with each root's members. `touched`:
    the records whose groups are asked for (default: all); only their groups
    are made (making a million records' took 1.7 s, for the third of them
    that scored pairs touch)."""

    def __init__(self, initial: Sequence[int], touched: Iterable[int] | None = None) -> None:
        self.parent = list(range(len(initial)))
        self.members: dict[int, list[int]] = {}
        first_of: dict[int, int] = {}
        for index, group in _members_of(initial, touched):
            root = first_of.setdefault(group, index)
            self.parent[index] = root
            self.members.setdefault(root, []).append(index)

    def find(self, index: int) -> int:
        while self.parent[index] != index:
            self.parent[index] = self.parent[self.parent[index]]
            index = self.parent[index]
        return index

    def union(self, a: int, b: int) -> None:
        big, small = sorted((a, b), key=lambda r: -len(self.members[r]))
        self.parent[small] = big
        self.members[big].extend(self.members.pop(small))


def _members_of(initial: Sequence[int], touched: Iterable[int] | None) -> Iterable[tuple[int, int]]:
    """(index, group) of each record in the groups of the touched records, in index order."""
    if touched is None:
        return enumerate(initial)
    groups = np.asarray(initial, dtype=np.int64)
    wanted = np.unique(groups[np.fromiter(touched, dtype=np.int64)])
    indexes = np.flatnonzero(np.isin(groups, wanted))
    return zip(indexes.tolist(), groups[indexes].tolist(), strict=True)


def decide(
    records: Sequence[Features],
    groups: Sequence[int],
    scored: Iterable[ScoredPair],
    thresholds: Thresholds,
    apart: Mapping[int, set[int]] | None = None,
) -> Decisions:
    """Link groups best pair first, refusing links between conflicting groups.

    `groups[i]` is record i's starting group (its deterministic cluster).
    `apart[i]`: the records a person judged not the same as record i (must not
    link): no link ever joins two groups holding such a pair, and the pair is
    not proposed for review again.
    """
    apart = apart or {}
    links, review, refused = [], [], 0
    # In `decision_order`, by two sorts on attributes (a sort by its tuples
    # took longer): by records, then (stably) best weight first.
    considered = [p for p in scored if p.probability >= thresholds.review]
    considered.sort(key=attrgetter("left", "right"))
    ranked = sorted(considered, key=attrgetter("weight"), reverse=True)
    found = Groups(groups, (i for p in ranked for i in (p.left, p.right)))
    for pair in ranked:
        a, b = found.find(pair.left), found.find(pair.right)
        if a == b:
            continue
        if apart and _judged_apart(found.members[a], found.members[b], apart):
            continue
        if not thresholds.may_link(pair.probability, records[pair.left], records[pair.right]):
            review.append((pair, BETWEEN_THRESHOLDS))
            continue
        count, reason = groups_conflict(
            [records[i] for i in found.members[a]], [records[i] for i in found.members[b]]
        )
        if count and pair.probability < thresholds.required(count):
            refused += 1
            review.append((pair, f"not linked: {reason}"))
            continue
        found.union(a, b)
        links.append(pair)
    return Decisions(links, review, refused)


def decision_order(pair: ScoredPair) -> tuple[float, int, int]:
    """The order `decide` takes pairs in: best weight first, then by records."""
    return (-pair.weight, pair.left, pair.right)


def _judged_apart(left: list[int], right: list[int], apart: Mapping[int, set[int]]) -> bool:
    others = set(right)
    return any(not apart[i].isdisjoint(others) for i in left if i in apart)


def judged_apart_index(
    judgements: Iterable[tuple[str, str]], index: Mapping[str, int]
) -> dict[int, set[int]]:
    """Record-key pairs judged not the same, as `decide`'s index pairs (both ways)."""
    apart: dict[int, set[int]] = {}
    for left, right in judgements:
        if left in index and right in index:
            apart.setdefault(index[left], set()).add(index[right])
            apart.setdefault(index[right], set()).add(index[left])
    return apart


def score_pairs(
    model: MatchModel,
    records: Sequence[Features],
    pairs: Iterable[tuple[int, int]],
    floor: float = 0.0,
) -> list[ScoredPair]:
    """The candidate pairs' match weights and probabilities, for the pairs whose
    probability reaches `floor` (default: every pair)."""
    lowest = weight_of(floor)
    scored = []
    for i, j in pairs:
        weight = model.weight_from(records[i], records[j], lowest)
        if weight is not None:
            scored.append(ScoredPair(i, j, weight, probability(weight)))
    return scored


def weight_of(floor: float) -> float:
    """The match weight of a probability (a little under it, to be safe from
    rounding); minus infinity for 0."""
    if floor <= 0.0:
        return -math.inf
    return math.log2(floor / (1.0 - floor)) - 1e-9
