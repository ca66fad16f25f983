"""The batch executor: re-resolve the whole graph with the match model.

Reads every record, starts from the deterministic clusters (shared strong
identifiers), scores the blocked candidate pairs with the match model (trained
first when asked or when there is none; `resolvers.bounds` leaves out the pairs
that cannot reach review before any is compared in Python), decides links without chaining
(`resolvers.probabilistic`), stores them as MATCHED edges and the review
candidates as REVIEW edges, then re-clusters and writes the profiles. Ids are
kept by lineage: a profile keeps its id when it keeps most of its records.

A no-op when nothing changed since the last run with the same model and thresholds.
"""

from __future__ import annotations

import gc
import heapq
import logging
import math
import os
import pickle
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt

from graph.model import Judgement, MatchEdge, MatchingRow, RecordRow
from graph.store import (
    RECORDS_CHANGED_AT,
    EncodedProfiles,
    GraphWriter,
    ResolutionLoad,
    encode_profiles,
)
from resolvers.blocking import Ints, Pairs, candidate_pairs
from resolvers.bounds import Bounds, Columns
from resolvers.deterministic import (
    Cluster,
    Clustering,
    assign_ids,
    changed_links,
    cluster_links,
    summarise,
)
from resolvers.features import Features, features
from resolvers.forked import Beside, Forked, ForkedWorkError, Handover
from resolvers.match_model import (
    MatchModel,
    ModelMismatchError,
    probability,
    train,
    training_pairs,
)
from resolvers.model import utc_now
from resolvers.online import RESOLUTION_LOCK, mint_profile_ids, splits
from resolvers.pairwork import PairWork
from resolvers.probabilistic import (
    Decisions,
    ScoredPair,
    Thresholds,
    decide,
    decision_order,
    judged_apart_index,
    weight_of,
)
from resolvers.skills import refresh_expertise

log = logging.getLogger("resolvers.batch")

RESOLVED_AT = "resolved_at"
RESOLVED_WITH = "resolved_with"
_PAGE = 5000
_WRITE_CLUSTERS = 2000
# From this many records forked copies of this process make part of the
# features (`features_of`), then find the candidate pairs (`_Candidates`);
# below, forking costs more than it saves.
BESIDE_FROM = 100_000
_FEATURES_HERE = 0.55  # of the rows' features, those this process makes (`features_of`)
_PROFILES_HERE = 0.5  # of the records, those whose profiles this process makes
DECIDE_BESIDE_FROM = 50_000  # scored pairs: from this many, decided in two processes (`_decided`)

Progress = Callable[[str, int, int], None]  # phase, done, total


@dataclass(frozen=True)
class Loaded:
    """The records a bulk load has just written, as `read_all` would read them
    back (in key order, with their features), and the `RECORDS_CHANGED_AT` it
    left: they stand for the graph's records while no record was written since."""

    rows: list[MatchingRow]
    features: list[Features]
    changed_at: str
    record_ids: Mapping[str, int]  # their nodes' ids, by key, as the load numbered them

    @staticmethod
    def of(rows: Iterable[MatchingRow], changed_at: str, record_ids: Mapping[str, int]) -> Loaded:
        ordered = sorted(rows, key=lambda row: row.key)
        return Loaded(ordered, features_of(ordered), changed_at, record_ids)


@dataclass
class BatchReport:
    """What a batch resolution did."""

    skipped: bool = False
    records: int = 0
    trained: bool = False
    model_version: str = ""
    candidate_pairs: int = 0
    pairs_compared: int = 0  # those whose bound reached review (`resolvers.bounds`)
    links: int = 0
    review: int = 0
    refused: int = 0
    profiles_before: int = 0
    profiles_after: int = 0
    profiles_merged: int = 0
    profiles_split: int = 0
    profiles_unchanged: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return dict(vars(self))


def resolve_all(
    writer: GraphWriter,
    *,
    thresholds: Thresholds,
    source_rank: Callable[[str], int],
    retrain: bool = False,
    force: bool = False,
    progress: Progress | None = None,
    loaded: Loaded | None = None,
    keep: Callable[[object], None] | None = None,
) -> BatchReport:
    """Re-resolve every record (see the module's docstring); `loaded`: the
    records of a bulk load that wrote them all, not read back if still true;
    `keep`: takes the run's working objects instead of their being freed here
    (a command that exits next leaves them to the system: freeing a million
    records' took 3.3 s)."""
    report = BatchReport()
    with writer.lock(RESOLUTION_LOCK, lease_s=3600, wait_s=3600):
        model = None if retrain else _stored_model(writer)
        stamp = _stamp(model.version if model else "-", thresholds)
        last = writer.setting(RESOLVED_AT)
        fresh = last is not None and writer.setting(RESOLVED_WITH) == stamp
        if not (retrain or force or model is None) and fresh and not _changed(writer, last):
            log.info("nothing to resolve: no record changed since %s", last)
            report.skipped = True
            return report
        started = utc_now()
        still = loaded if loaded is not None and _still(writer, loaded) else None
        with without_cycle_collection():
            _run(writer, report, model=model, thresholds=thresholds, source_rank=source_rank,
                 progress=progress or _silent, loaded=still, keep=keep or _drop)  # fmt: skip
        writer.set_setting(RESOLVED_AT, started)
        writer.set_setting(RESOLVED_WITH, _stamp(report.model_version, thresholds))
    return report


@contextmanager
def without_cycle_collection(*, freeze_after: bool = False) -> Iterator[None]:
    """Python's cycle collector off: reading a million records makes tens of
    millions of objects, none of them in cycles, and the collector walked them
    all again and again (it more than doubled the time to build the features:
    46 s against 21 s a million).

    `freeze_after`: the objects still alive at the end are left out of the
    collector's passes (`gc.freeze`) before it is turned back on. Its first
    pass would walk every one made meanwhile: 4.5 s at the end of a command
    that keeps a million records to the end."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze_after and enabled:  # off before: it stays off, nothing to spare it
            gc.freeze()
        if enabled:
            gc.enable()


def _still(writer: GraphWriter, loaded: Loaded) -> bool:
    """Whether no record was written since the bulk load (by another process)."""
    changed_at = writer.setting(RECORDS_CHANGED_AT)
    return changed_at == loaded.changed_at and writer.count_of("Record") == len(loaded.rows)


def _stamp(model_version: str, thresholds: Thresholds) -> str:
    """What a resolution depended on besides the records."""
    return f"{model_version}|{thresholds}"


def _changed(writer: GraphWriter, since: str | None) -> bool:
    return since is None or writer.records_changed_since(since)


def _silent(phase: str, done: int, total: int) -> None:
    return None


def _drop(working: object) -> None:
    return None


def _stored_model(writer: GraphWriter) -> MatchModel | None:
    body = writer.current_match_model()
    if body is None:
        return None
    try:
        return MatchModel.from_json(body)
    except ModelMismatchError as error:
        log.warning("%s: training a new one", error)
        return None


def _run(
    writer: GraphWriter,
    report: BatchReport,
    *,
    model: MatchModel | None,
    thresholds: Thresholds,
    source_rank: Callable[[str], int],
    progress: Progress,
    loaded: Loaded | None,
    keep: Callable[[object], None],
) -> None:
    clock = _Clock(report)
    if loaded is None:
        rows = read_all(writer, progress)
        feats = features_of(rows)
    else:
        rows, feats = loaded.rows, loaded.features
        progress("read", len(rows), len(rows))
    report.records = len(rows)
    if len(rows) < 2:
        return
    with closing(_Candidates(feats, train_model=model is None)) as candidates:
        leases = writer.all_leases()  # computed at ingest (`resolvers.leases`)
        plain = [row.for_resolution(leased=_one(leases.get(row.key))) for row in rows]
        judgements = writer.current_judgements()
        clustering = Clustering(plain, judgements)
        index = {row.key: i for i, row in enumerate(rows)}
        group_of = _numbered(index, clustering.members(), len(rows))
        candidates.clustered(group_of)
        report.profiles_before = len({row.profile_id for row in rows if row.profile_id})
        clock.lap("read")
        phase = "block" if model else "train"  # training is done with the blocking
        progress(phase, 0, 1)
        columns = Columns(feats)  # what the bounds read, whatever the model
        found = candidates.found()
        progress(phase, 1, 1)
    report.candidate_pairs = found.candidates
    if found.model is not None:
        model = found.model
        writer.save_match_model(model.version, model.to_json(), model.trained_at)
        report.trained = True
    clock.lap("block and train" if report.trained else "block")
    assert model is not None
    scored = _scored(
        Bounds(model, columns), feats, found.to_score, thresholds.review, report=report,
        progress=progress,
    )  # fmt: skip
    report.model_version = model.version
    apart = judged_apart_index(_different(judgements), index)
    decisions = _decided(feats, group_of, scored, thresholds, apart)
    report.links, report.refused = len(decisions.links), decisions.refused
    report.review = len(decisions.review)
    clock.lap("score")
    _write(writer, rows, plain, decisions, clustering, model=model.version,
           loaded=loaded, source_rank=source_rank, report=report,
           progress=progress, keep=keep)  # fmt: skip
    clock.lap("write")
    keep((plain, clustering, group_of, scored, decisions, index, apart))


def _write(
    writer: GraphWriter,
    rows: Sequence[MatchingRow],
    plain: Sequence[RecordRow],
    decisions: Decisions,
    clustering: Clustering,
    *,
    model: str,
    loaded: Loaded | None,
    source_rank: Callable[[str], int],
    report: BatchReport,
    progress: Progress,
    keep: Callable[[object], None],
) -> None:
    """Store the decisions and the profiles they make (`clustering`: the
    records' deterministic clusters, which the links join; `loaded`: the bulk
    load that just wrote the records, if so: in bulk too, where it can)."""
    now = utc_now()
    clustering.join_links((rows[p.left].key, rows[p.right].key) for p in decisions.links)
    groups = clustering.ordered_groups()
    report.profiles_after = len(groups)
    with _in_bulk(writer, loaded, model=model, now=now) as load:
        if load is None:  # every MATCHED and REVIEW edge replaced by these
            links, review = _match_edges(rows, decisions)
            writer.replace_match_edges(links, review, model=model, now=now)
            found = [clustering.cluster_of(keys) for keys in groups]
            _write_profiles(writer, found, rows=plain, source_rank=source_rank, now=now,
                            report=report, progress=progress)  # fmt: skip
        else:
            with _BulkProfiles(load, clustering, groups, source_rank) as profiles:
                links, review = _match_edges(rows, decisions)  # while a copy makes profiles
                load.match_edges(links, review)
                found = profiles.write(progress)
    # Written in bulk: the priorities are set, and a graph built in bulk holds
    # no judgements to mark (the refresh took 2 s a million).
    if load is None or writer.any_judgements():
        writer.refresh_review()
    else:
        writer.review_changed()
    refresh_expertise(writer, writer.profiles_with_evidence())
    writer.backend.flush()  # timed with the phase that wrote it
    keep((found, links, review))


@contextmanager
def _in_bulk(
    writer: GraphWriter, loaded: Loaded | None, *, model: str, now: str
) -> Iterator[ResolutionLoad | None]:
    """The first resolution of records just loaded in bulk goes in in bulk too,
    where the engine can: about half the time of the statements that write a
    million records' profiles."""
    if loaded is None:
        yield None
        return
    ids = loaded.record_ids
    with writer.resolution_in_bulk(model=model, now=now, record_ids=ids) as load:
        if load is not None:
            log.info("writing the first resolution in bulk")
        yield load


@dataclass
class _Found:
    """How many candidate pairs there are, those of them to score (not inside
    one deterministic cluster: linked already), and the model trained on them
    unless one was given."""

    candidates: int
    to_score: Pairs
    model: MatchModel | None


class _Candidates:
    """Finds the candidate pairs of `feats` and trains the model on them
    (`train_model`). For a large set a forked copy of this process does it
    (`resolvers.forked`) while this one clusters and makes the bounds'
    columns: it took one core 29 s a million, while the other idled."""

    def __init__(self, feats: Sequence[Features], *, train_model: bool) -> None:
        self.feats, self.train_model = feats, train_model
        self.group_of: Sequence[int] = ()
        self.forked: Forked | None = None
        if len(feats) >= BESIDE_FROM and hasattr(os, "fork"):
            self.handover = Handover(len(feats), np.int64)
            work = partial(_found_arrays, feats, self.handover.take, train_model=train_model)
            try:
                self.forked = Forked(work, self.handover)
            except OSError as error:  # out of memory or processes: done here instead
                self.handover.close()
                log.warning("could not fork to find the candidate pairs (%s): finding them here",
                            error)  # fmt: skip

    def clustered(self, group_of: Sequence[int]) -> None:
        """Each record's deterministic cluster, which training needs."""
        self.group_of = group_of
        if self.forked is not None:
            self.handover.give(group_of)

    def found(self) -> _Found:
        if self.forked is not None:
            try:
                return self._found_by_copy(self.forked)
            except ForkedWorkError as error:  # killed for memory, say: done here instead
                log.warning("%s; finding the candidate pairs here", error)
        return _find(self.feats, lambda: self.group_of, train_model=self.train_model)

    @staticmethod
    def _found_by_copy(forked: Forked) -> _Found:
        candidates, left, right, model = forked.result()
        trained = MatchModel.from_json(model.tobytes().decode()) if len(model) else None
        return _Found(int(candidates[0]), Pairs(left, right), trained)

    def close(self) -> None:
        if self.forked is not None:
            self.forked.close()


def _find(
    feats: Sequence[Features],
    groups: Callable[[], Sequence[int] | Ints],
    *,
    train_model: bool,
    in_copy: bool = False,
) -> _Found:
    """`_Candidates`' work; `groups()` gives each record's deterministic
    cluster once known; `in_copy`: in a forked copy (which compares the
    training pairs itself, starting no workers)."""
    pairs = candidate_pairs(feats)
    group_of = groups()
    cluster_of = np.asarray(group_of, dtype=np.int64)
    to_score = pairs.where(cluster_of[pairs.left] != cluster_of[pairs.right])
    if not train_model:
        return _Found(len(pairs), to_score, None)
    group_list = cluster_of.tolist()
    if in_copy:
        return _Found(len(pairs), to_score, train(feats, pairs, groups=group_list))
    with PairWork(feats, training_pairs(len(pairs))) as work:
        model = train(feats, pairs, groups=group_list, count=work.vectors)
    return _Found(len(pairs), to_score, model)


def _found_arrays(
    feats: Sequence[Features], groups: Callable[[], Sequence[int] | Ints], *, train_model: bool
) -> list[Ints | npt.NDArray[np.uint8]]:
    """`_find` in a forked copy, as arrays (the model as its JSON's bytes)."""
    found = _find(feats, groups, train_model=train_model, in_copy=True)
    model = found.model.to_json().encode() if found.model is not None else b""
    return [np.array([found.candidates]), found.to_score.left, found.to_score.right,
            np.frombuffer(model, dtype=np.uint8)]  # fmt: skip


def _scored(
    bounds: Bounds,
    feats: Sequence[Features],
    pairs: Pairs,
    floor: float,
    *,
    report: BatchReport,
    progress: Progress,
) -> list[ScoredPair]:
    """The pairs whose probability reaches `floor`, with their weights under
    the bounds' model. Their bounds are computed a column at a time first;
    only the pairs whose bound reaches `floor` are compared in Python, which
    finds the same pairs sooner."""
    model = bounds.model
    progress("bound", 0, len(pairs))
    if bounds.on_workers(len(pairs)):
        # The forked copies bound each chunk and compare its pairs in reach; this
        # process takes their weights. It compared them itself before, alone
        # once the copies were done (5 s of the million's 20 s of scoring).
        lowest = weight_of(floor)
        scored: list[ScoredPair] = []
        done = 0
        weigh = partial(_weights, model, feats, lowest)
        with closing(bounds.each_weighed(pairs, lowest, weigh)) as each:
            for part, weights in each:
                report.pairs_compared += len(weights) - int(np.count_nonzero(np.isnan(weights)))
                at = np.flatnonzero(weights > -math.inf)  # not NaN: in reach and reaching
                scored += map(_scored_pair, part.left[at].tolist(), part.right[at].tolist(),
                              weights[at].tolist())  # fmt: skip
                done += len(part)
                progress("bound", done, len(pairs))
        progress("score", report.pairs_compared, report.pairs_compared)
        return scored
    reaching = bounds.reaching(
        pairs, weight_of(floor), lambda done: progress("bound", done, len(pairs))
    )
    kept = pairs.where(reaching)
    report.pairs_compared = len(kept)
    progress("score", 0, len(kept))
    with PairWork(feats, len(kept)) as work:
        return work.scores(model, kept, floor, lambda done: progress("score", done, len(kept)))


def _weights(
    model: MatchModel, feats: Sequence[Features], lowest: float, left: Ints, right: Ints
) -> npt.NDArray[np.float64]:
    """Each pair's match weight, minus infinity for one under `lowest`."""
    pairs = zip(left.tolist(), right.tolist(), strict=True)
    weights = [model.weight_from(feats[i], feats[j], lowest) for i, j in pairs]
    return np.array([-math.inf if w is None else w for w in weights], dtype=np.float64)


def _scored_pair(left: int, right: int, weight: float) -> ScoredPair:
    return ScoredPair(left, right, weight, probability(weight))


def _decided(
    feats: Sequence[Features],
    group_of: Sequence[int],
    scored: Sequence[ScoredPair],
    thresholds: Thresholds,
    apart: Mapping[int, set[int]],
) -> Decisions:
    """`decide`; for many pairs, in two processes: a forked copy decides the
    pairs of half the components (groups joined by pairs, transitively), this
    one the others. No decision looks across components: together they are
    the decisions of one process (in its order). Deciding a million records'
    pairs took one core 8 s, while the other idled."""
    if len(scored) < DECIDE_BESIDE_FROM or not hasattr(os, "fork"):
        return decide(feats, group_of, scored, thresholds, apart)
    theirs = _odd_components(group_of, scored).tolist()
    mine = [pair for pair, odd in zip(scored, theirs, strict=True) if not odd]
    other = [pair for pair, odd in zip(scored, theirs, strict=True) if odd]
    work = partial(_decisions_as_arrays, feats, group_of, other, thresholds, apart)
    try:
        forked = Forked(work)
    except OSError as error:
        log.warning("could not fork to decide (%s): deciding here", error)
        return decide(feats, group_of, scored, thresholds, apart)
    with forked:
        here = decide(feats, group_of, mine, thresholds, apart)
        try:
            there = _decisions_of_arrays(forked.result(), other)
        except ForkedWorkError as error:
            log.warning("%s; deciding those pairs here", error)
            there = decide(feats, group_of, other, thresholds, apart)
    return _merged(here, there)


def _odd_components(group_of: Sequence[int], scored: Sequence[ScoredPair]) -> npt.NDArray[np.bool_]:
    """Per pair, whether its component (groups joined by the pairs, named by
    the smallest of their numbers, 0 to the groups' count) has an odd name:
    about half of them."""
    if not scored:
        return np.zeros(0, dtype=np.bool_)
    numbers, groups = np.unique(np.asarray(group_of, dtype=np.int64), return_inverse=True)
    left = groups[np.fromiter((p.left for p in scored), np.int64, len(scored))]
    right = groups[np.fromiter((p.right for p in scored), np.int64, len(scored))]
    name = np.arange(len(numbers))  # each group's root: itself, or a smaller group
    while True:
        a, b = name[left], name[right]  # the roots the pairs join
        if (a == b).all():
            return (a % 2).astype(np.bool_)
        # The larger root of each pair hangs under the smaller one, then
        # every group is pointed at its root. Moving the groups one step at a
        # time instead took thousands of rounds for a chain of random numbers.
        low = np.minimum(a, b)
        np.minimum.at(name, a, low)
        np.minimum.at(name, b, low)
        jumped = name[name]
        while (jumped != name).any():
            name, jumped = jumped, jumped[jumped]


def _decisions_as_arrays(
    feats: Sequence[Features],
    group_of: Sequence[int],
    scored: Sequence[ScoredPair],
    thresholds: Thresholds,
    apart: Mapping[int, set[int]],
) -> list[npt.NDArray[Any]]:
    """`decide` in a forked copy: its links and review candidates as places in
    `scored`, their reasons pickled, and how many were refused."""
    decisions = decide(feats, group_of, scored, thresholds, apart)
    place = {id(pair): i for i, pair in enumerate(scored)}
    reasons = pickle.dumps([reason for _, reason in decisions.review])
    return [
        np.array([place[id(pair)] for pair in decisions.links], dtype=np.int64),
        np.array([place[id(pair)] for pair, _ in decisions.review], dtype=np.int64),
        np.frombuffer(reasons, dtype=np.uint8),
        np.array([decisions.refused], dtype=np.int64),
    ]


def _decisions_of_arrays(
    arrays: Sequence[npt.NDArray[Any]], scored: Sequence[ScoredPair]
) -> Decisions:
    links, review, reasons, refused = arrays
    texts: list[str] = pickle.loads(reasons.tobytes())  # noqa: S301 - our own copy made it
    return Decisions(
        [scored[i] for i in links.tolist()],
        [(scored[i], reason) for i, reason in zip(review.tolist(), texts, strict=True)],
        int(refused[0]),
    )


def _merged(a: Decisions, b: Decisions) -> Decisions:
    """Two sets of decisions in the order `decide` makes them (best pair first)."""
    return Decisions(
        list(heapq.merge(a.links, b.links, key=decision_order)),
        list(heapq.merge(a.review, b.review, key=lambda item: decision_order(item[0]))),
        a.refused + b.refused,
    )


def _different(judgements: Sequence[Judgement]) -> list[tuple[str, str]]:
    return [(j.left, j.right) for j in judgements if j.decision == "different"]


def _numbered(index: Mapping[str, int], joined: Sequence[set[str]], count: int) -> list[int]:
    """Each of `count` records' deterministic cluster (`Clustering.members`:
    shared identifiers and the stewards' judgements), by number, in the order
    of their `index` (by key): where resolution starts."""
    group_of = [0] * count
    for number, members in enumerate(joined):
        for key in members:
            group_of[index[key]] = number
    return group_of


def _match_edges(
    rows: Sequence[MatchingRow], decisions: Decisions
) -> tuple[list[MatchEdge], list[MatchEdge]]:
    """The decisions' probabilistic links and review candidates."""
    return (
        [MatchEdge(rows[p.left].key, rows[p.right].key, p.weight, p.probability)
         for p in decisions.links],
        [MatchEdge(rows[p.left].key, rows[p.right].key, p.weight, p.probability, reason)
         for p, reason in decisions.review],
    )  # fmt: skip


def features_of(rows: Sequence[MatchingRow]) -> list[Features]:
    """Each row's features (`record_features`). For a large set a forked copy
    of this process makes the last part of them meanwhile and sends them
    pickled: unpickling one costs this process about a quarter of making it.
    Making them took one core 25 to 28 s a million, while the other idled;
    this way, 21 to 22 s (`Features` pickle by their fields)."""
    if len(rows) < BESIDE_FROM or not hasattr(os, "fork"):
        return [record_features(row) for row in rows]
    # The copy also pickles its part: this share has both sides end together.
    here = int(len(rows) * _FEATURES_HERE)
    with Beside(partial(_features_from, rows, here), what="the features") as theirs:
        made = [record_features(row) for row in rows[:here]]
        return made + theirs.result()


def _features_from(rows: Sequence[MatchingRow], start: int) -> list[Features]:
    return [record_features(row) for row in rows[start:]]


def record_features(row: MatchingRow) -> Features:
    """A stored record's features, with the people seen on its generic values
    (the model weighs a value shared by k people log2(k) less)."""
    return features(
        row.key,
        row.name,
        row.attributes,
        [(type_, value) for type_, value, *_ in row.identifiers],
        {f"{t}:{v}": people or 2 for t, v, _, generic, people in row.identifiers if generic},
    )


def _one(value: str | None) -> tuple[str, ...]:
    return () if value is None else (value,)


def read_all(writer: GraphWriter, progress: Progress) -> list[MatchingRow]:
    """Every record, in key order (what the resolution's results must not depend on)."""
    rows: list[MatchingRow] = []
    total = writer.count_of("Record")
    span = writer.record_id_span()
    if span is None:
        return rows
    for lo in range(span[0], span[1] + 1, _PAGE):
        rows.extend(writer.matching_page(lo, lo + _PAGE))
        progress("read", len(rows), total)
    rows.sort(key=lambda row: row.key)
    return rows


def _write_profiles(
    writer: GraphWriter,
    found: Sequence[Cluster],
    *,
    rows: Sequence[RecordRow],
    source_rank: Callable[[str], int],
    now: str,
    report: BatchReport,
    progress: Progress,
) -> None:
    assignment = assign_ids(found, mint_profile_ids)
    previous = {row.key: row.link for row in rows if row.link is not None}
    before: dict[str, set[str]] = {}
    for row in rows:
        if row.profile_id:
            before.setdefault(row.profile_id, set()).add(row.key)
    created = set(assignment.created)
    report.profiles_merged = len(assignment.retired)
    report.profiles_split = splits(found)
    report.profiles_unchanged = sum(
        1
        for cluster, pid in zip(found, assignment.profile_ids, strict=True)
        if pid in before and before[pid] == {r.key for r in cluster.records}
    )
    for start in range(0, len(found), _WRITE_CLUSTERS):
        chunk = found[start : start + _WRITE_CLUSTERS]
        ids = assignment.profile_ids[start : start + _WRITE_CLUSTERS]
        last = start + _WRITE_CLUSTERS >= len(found)
        summaries = [summarise(c, pid, source_rank) for c, pid in zip(chunk, ids, strict=True)]
        writer.apply_resolution(
            created=created & set(ids), summaries=summaries,
            links=changed_links(chunk, ids, previous), linked_before=previous.keys(),
            retired=assignment.retired if last else {}, now=now,
        )  # fmt: skip
        progress("write", min(start + _WRITE_CLUSTERS, len(found)), len(found))


class _BulkProfiles:
    """`_write_profiles` of a first resolution, in bulk: every profile and
    link is new, so nothing is compared with what was stored (no lineage,
    merge or split to count), and their ids are minted directly. For a large
    set a forked copy makes and encodes the last part of the clusters, from
    the start: on one core this took 15 to 20 s a million, the other idle."""

    def __init__(
        self,
        load: ResolutionLoad,
        clustering: Clustering,
        groups: Sequence[Sequence[str]],
        source_rank: Callable[[str], int],
    ) -> None:
        self.load, self.total = load, len(groups)
        ids = mint_profile_ids(len(groups))
        self.encoded = partial(_encoded_profiles, clustering, groups, ids, source_rank=source_rank,
                               record_ids=load.record_ids, now=load.now)  # fmt: skip
        self.here = _profiles_here(groups)
        self.beside = Beside(self._theirs, what="the profiles") if self.here < self.total else None

    def _theirs(self) -> EncodedProfiles:  # in the copy: only the encoding comes back
        return self.encoded(self.here, self.total)[1]

    def __enter__(self) -> _BulkProfiles:
        return self

    def __exit__(self, *_: object) -> None:
        if self.beside is not None:
            self.beside.close()

    def write(self, progress: Progress) -> list[Cluster]:
        """This process's part, then the copy's; the clusters made here."""
        found: list[Cluster] = []
        for start in range(0, self.here, _WRITE_CLUSTERS):
            stop = min(start + _WRITE_CLUSTERS, self.here)
            chunk, encoding = self.encoded(start, stop)
            self.load.add(encoding)
            found += chunk
            progress("write", stop, self.total)
        if self.beside is not None:
            self.load.add(self.beside.result())
            progress("write", self.total, self.total)
        return found


def _profiles_here(groups: Sequence[Sequence[str]]) -> int:
    """How many of the groups this process makes into profiles (the rest
    a forked copy makes): all of a small set; else the first groups, up to
    this process's share of the records."""
    records = np.cumsum(np.fromiter(map(len, groups), dtype=np.int64, count=len(groups)))
    if not len(records) or records[-1] < BESIDE_FROM or not hasattr(os, "fork"):
        return len(groups)
    return int(np.searchsorted(records, records[-1] * _PROFILES_HERE))


def _encoded_profiles(
    clustering: Clustering,
    groups: Sequence[Sequence[str]],
    ids: Sequence[str],
    start: int,
    stop: int,
    *,
    source_rank: Callable[[str], int],
    record_ids: Mapping[str, int],
    now: str,
) -> tuple[list[Cluster], EncodedProfiles]:
    """Groups `start` to `stop`: their clusters, and their profiles encoded
    for `ResolutionLoad`."""
    found = [clustering.cluster_of(keys) for keys in groups[start:stop]]
    named = ids[start:stop]
    summaries = [summarise(c, pid, source_rank) for c, pid in zip(found, named, strict=True)]
    links = cluster_links(found, named)
    return found, encode_profiles(summaries, links, record_ids=record_ids, now=now)


class _Clock:
    def __init__(self, report: BatchReport) -> None:
        self.report = report
        self.last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.report.seconds[phase] = round(now - self.last, 3)
        self.last = now
