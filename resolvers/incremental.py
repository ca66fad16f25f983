"""The online executor: link the records of a just-ingested batch with the
match model, one record at a time against the graph, as they arrive.

Candidates come from the graph's full-text index on folded names (the record's
given and family name, the family name read from a handle for "Carlos F." /
@cfrancavilla). Each candidate's whole profile is read, so a record is scored
against the profile (the best evidence over its records) and the same
decisions as the batch executor apply, with the same model and weights
(`resolvers.probabilistic.decide`): conflicts checked over whole profiles,
review candidates kept for the stewards. New links are stored as MATCHED edges
and the profiles they join are re-clustered.

Records without a name have no candidates here; `directory resolve` (the batch
executor) compares everything its blocking rules pair.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from graph.model import MatchEdge, MatchingRow, Namesakes, RecordRow
from graph.store import GraphWriter
from resolvers.batch import record_features
from resolvers.features import Features, features
from resolvers.identifiers import strength
from resolvers.match_model import MatchModel
from resolvers.model import Record, utc_now, utc_text_or_none
from resolvers.online import ResolutionOutcome, resolve
from resolvers.probabilistic import (
    BETWEEN_THRESHOLDS,
    Decisions,
    ScoredPair,
    Thresholds,
    decide,
    judged_apart_index,
    score_pairs,
)

log = logging.getLogger("resolvers.incremental")

CANDIDATES = 15  # records found by name, per new record
_PROFILE_RECORDS = 50  # records read of each candidate profile (for conflicts)


@dataclass(frozen=True)
class OnlineOutcome:
    links: int
    review: int
    resolution: ResolutionOutcome | None
    placed: frozenset[str] = frozenset()  # `unplaced` records the links resolved


def link_records(
    writer: GraphWriter,
    records: Sequence[Record],
    *,
    model: MatchModel,
    thresholds: Thresholds,
    generic_threshold: int,
    source_rank: Callable[[str], int],
    judgements_exist: bool | None = None,
    unplaced: Mapping[str, RecordRow] | None = None,
    namesakes: Namesakes | None = None,
    arriving: Mapping[str, MatchingRow] | None = None,
) -> OnlineOutcome:
    """Score the given (just written) records against their candidates; store
    and apply the links. The caller holds the resolution lock (and may say
    whether the graph holds any judgement, which saves reading them).

    `unplaced`: those of the records that have no profile yet because nothing
    links them deterministically (their rows for resolution). One that links
    is resolved with the profiles it joins; the others are the caller's to
    resolve (they are left out of `placed`). `namesakes`: the records'
    candidates, when the caller read them already (`name_queries`);
    `arriving`: matching rows of some of the records, made in hand
    (`arriving_row`), which are then not read."""
    made = arriving or {}
    missing = [r.key for r in records if r.key not in made]
    if namesakes is None:
        stored, namesakes = writer.rows_and_name_candidates(
            missing, name_queries(records), CANDIDATES
        )
    else:
        stored = writer.matching_rows(missing) if missing else []
    fresh = [*made.values(), *stored]
    found, candidates = namesakes.found, namesakes.rows
    known = {row.key: record_features(row) for row in [*fresh, *candidates]}
    scored = _reaching_review(fresh, candidates, found, known, model=model, thresholds=thresholds)
    if scored and judgements_exist is None:
        judgements_exist = writer.any_judgements()
    if scored and judgements_exist:  # a pair judged apart is neither linked nor proposed again
        judged = {frozenset(p) for p in writer.judged_different([a for a, *_ in scored])}
        scored = [s for s in scored if frozenset(s[:2]) not in judged]
    if not scored:
        return OnlineOutcome(0, 0, None)
    if not any(thresholds.may_link(p, known[a], known[b]) for a, b, p, _ in scored):
        # Nothing can link: review candidates, without reading whole profiles.
        review = [MatchEdge(a, b, w, p, BETWEEN_THRESHOLDS) for a, b, p, w in scored]
        writer.add_match_edges([], review, model=model.version, now=utc_now())
        writer.refresh_review([edge.left for edge in review])
        return OnlineOutcome(0, len(review), None)
    # Decisions look only at the groups of the pairs' two ends: the profiles
    # of candidates that reached no pair are not read.
    paired = {key for a, b, _, _ in scored for key in (a, b)}
    rows, whole = _with_profiles(writer, [r for r in [*fresh, *candidates] if r.key in paired])
    index = {row.key: i for i, row in enumerate(rows)}
    feats = [known.get(row.key) or record_features(row) for row in rows]
    pairs = sorted({_ordered(index[a], index[b]) for a, b, _, _ in scored})
    apart = (  # over whole profiles
        judged_apart_index(writer.judged_different(sorted(index)), index)
        if judgements_exist
        else {}
    )
    decisions = _decide(feats, rows, pairs, model=model, thresholds=thresholds, apart=apart)
    writer.add_match_edges(
        [_edge(rows, p) for p in decisions.links],
        [_edge(rows, p, reason) for p, reason in decisions.review],
        model=model.version,
        now=utc_now(),
    )
    outcome, placed = None, frozenset[str]()
    if decisions.links:
        # Re-clustering the joined profiles re-clusters the linked records,
        # with the unplaced ones among them.
        partners = _partners(decisions, rows)
        joined = [rows[i] for p in decisions.links for i in (p.left, p.right)]
        loose = _loose_rows(writer, joined, partners, unplaced or {})
        outcome = resolve(
            writer,
            batch=loose,
            identifier_keys=[],
            generic_threshold=generic_threshold,
            source_rank=source_rank,
            near_profiles={row.profile_id for row in joined if row.profile_id},
            judgements_exist=judgements_exist,
            # Read before the links were written: they are added here.
            read_whole={
                pid: [_also_matched(r, partners) for r in members] for pid, members in whole.items()
            },
        )
        placed = frozenset(row.key for row in loose)
    if decisions.review:
        writer.refresh_review([rows[p.left].key for p, _ in decisions.review])
    log.info("online: %d links, %d review candidates", len(decisions.links), len(decisions.review))
    return OnlineOutcome(len(decisions.links), len(decisions.review), outcome, placed)


def _reaching_review(
    fresh: list[MatchingRow],
    candidates: list[MatchingRow],
    found: dict[str, list[str]],
    features_of: dict[str, Features],
    *,
    model: MatchModel,
    thresholds: Thresholds,
) -> list[tuple[str, str, float, float]]:
    """(new record, candidate, probability, weight) of the pairs in different
    profiles that reach the review threshold."""
    profile_of = {row.key: row.profile_id for row in [*fresh, *candidates]}
    new = {row.key for row in fresh}
    pairs = [
        (key, other)
        for key, others in found.items()
        if key in new
        for other in others
        if other in profile_of and not (profile_of[key] and profile_of[key] == profile_of[other])
    ]
    feats = [features_of[key] for pair in pairs for key in pair]
    # The weight alone (as `explain` totals it), given up once it cannot reach review.
    scored = score_pairs(model, feats, [(i, i + 1) for i in range(0, len(feats), 2)],
                         floor=thresholds.review)  # fmt: skip
    return [
        (*pairs[s.left // 2], s.probability, s.weight)
        for s in scored
        if s.probability >= thresholds.review
    ]


def name_queries(records: Sequence[Record]) -> dict[str, str]:
    """Record key -> the full-text query that finds its namesakes. It needs only
    names, handles and emails: made from the records in hand, it goes with
    another read."""
    return {r.key: text for r in records if (text := name_query(_features(r)))}


def name_query(f: Features) -> str | None:
    """The full-text query that finds a record's namesakes: given and family name."""
    words = [w for w in (f.given, f.family_last) if w and len(w) > 1]
    return " ".join(words) if len(words) == 2 else None


def arriving_row(record: Record, sharing: Mapping[str, tuple[bool, int | None]]) -> MatchingRow:
    """The matching row a new record without a profile will have once written,
    made from the record in hand; `sharing`: (generic, people) of its stored
    identifiers."""
    return MatchingRow(
        key=record.key,
        source=record.source,
        kind=record.kind,
        name=record.name,
        observed_at=utc_text_or_none(record.observed_at),
        attributes=dict(record.attributes),
        profile_id=None,
        link=None,
        identifiers=[
            (i.type, i.value, strength(i.type).value, *sharing.get(i.key, (False, None)))
            for i in record.identifiers
        ],
    )


def _partners(decisions: Decisions, rows: list[MatchingRow]) -> dict[str, set[str]]:
    """Record key -> the records the decisions' links join it to."""
    partners: dict[str, set[str]] = {}
    for pair in decisions.links:
        left, right = rows[pair.left].key, rows[pair.right].key
        partners.setdefault(left, set()).add(right)
        partners.setdefault(right, set()).add(left)
    return partners


def _also_matched(row: RecordRow, partners: dict[str, set[str]]) -> RecordRow:
    if row.key not in partners:
        return row
    return replace(row, matched=tuple(sorted({*row.matched, *partners[row.key]})))


def _loose_rows(
    writer: GraphWriter,
    joined: list[MatchingRow],
    partners: dict[str, set[str]],
    unplaced: Mapping[str, RecordRow],
) -> list[RecordRow]:
    """Rows for resolution of the joined records that have no profile yet: the
    unplaced ones as given, with the links just made (no read needed)."""
    loose = sorted({row.key for row in joined if not row.profile_id})
    found = [_also_matched(unplaced[k], partners) for k in loose if k in unplaced]
    others = [k for k in loose if k not in unplaced]
    return found + (writer.records_for_resolution(others) if others else [])


def _features(record: Record) -> Features:
    identifiers = [(i.type, i.value) for i in record.identifiers]
    return features(record.key, record.name, record.attributes, identifiers)


def _with_profiles(
    writer: GraphWriter, known: list[MatchingRow]
) -> tuple[list[MatchingRow], dict[str, list[RecordRow]]]:
    """The rows, and the other records of every profile involved (capped), so
    decisions see whole profiles; and the profiles read whole, for resolution."""
    profiles = sorted({r.profile_id for r in known if r.profile_id})
    unique = {r.key: r for r in known}
    members, whole = writer.profiles_to_match(profiles, _PROFILE_RECORDS) if profiles else ([], {})
    others = sorted((r for r in members if r.key not in unique), key=lambda r: r.key)
    return [*unique.values(), *others], whole


def _decide(
    feats: list[Features],
    rows: list[MatchingRow],
    pairs: list[tuple[int, int]],
    *,
    model: MatchModel,
    thresholds: Thresholds,
    apart: dict[int, set[int]],
) -> Decisions:
    group_ids: dict[str, int] = {}
    groups = [group_ids.setdefault(row.profile_id or row.key, len(group_ids)) for row in rows]
    return decide(feats, groups, score_pairs(model, feats, pairs), thresholds, apart)


def _ordered(i: int, j: int) -> tuple[int, int]:
    return (i, j) if i < j else (j, i)


def _edge(rows: list[MatchingRow], pair: ScoredPair, reason: str | None = None) -> MatchEdge:
    return MatchEdge(rows[pair.left].key, rows[pair.right].key, pair.weight,
                     pair.probability, reason)  # fmt: skip
