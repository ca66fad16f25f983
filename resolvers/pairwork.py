"""Compare many record pairs on every core: the batch executor's comparisons
(training and scoring) are pure Python, so one process uses one core while the
graph server idles. Small jobs stay in this process.

Workers start by forkserver (forking a process that holds threads and sockets
is unsafe) and receive the records once, at start; then chunks of pairs.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat

from resolvers.blocking import Pairs
from resolvers.features import Features
from resolvers.match_model import MatchModel, Pair, Vector, count_vectors
from resolvers.probabilistic import ScoredPair, score_pairs

# Below this many pairs, or this many pairs a record, starting workers costs
# more than it saves: sending a worker the records costs about 57 µs a record
# (pickled here, read there), two workers save about 22 µs a pair.
_PARALLEL_FROM = 40_000
_PAIRS_PER_RECORD = 3
_CHUNK = 20_000

Done = Callable[[int], None]


def ignore_progress(done: int) -> None:
    return None


_records: Sequence[Features] = ()
_model: MatchModel | None = None
_model_json = ""


def workers() -> int:
    return max(1, min(os.cpu_count() or 1, 4))


class PairWork:
    """A pool of workers holding the records (and the model, once trained)."""

    def __init__(self, records: Sequence[Features], n_pairs: int) -> None:
        self.records = records
        self.pool: ProcessPoolExecutor | None = None
        worth_it = n_pairs >= max(_PARALLEL_FROM, _PAIRS_PER_RECORD * len(records))
        if worth_it and workers() > 1:
            context = multiprocessing.get_context("forkserver")
            self.pool = ProcessPoolExecutor(
                max_workers=workers(), mp_context=context,
                # Pickled once here, not once per worker by the pool.
                initializer=_init, initargs=(pickle.dumps(list(records), pickle.HIGHEST_PROTOCOL),),
            )  # fmt: skip

    def __enter__(self) -> PairWork:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown()

    def vectors(self, pairs: Sequence[Pair]) -> Counter[Vector]:
        """How many pairs reach each comparison vector."""
        if self.pool is None:
            return count_vectors(self.records, pairs)
        found: Counter[Vector] = Counter()
        for part in self.pool.map(_vectors_chunk, (pairs[s] for s in _chunks(len(pairs)))):
            found.update(part)
        return found

    def scores(
        self, model: MatchModel, pairs: Pairs, floor: float = 0.0, progress: Done = ignore_progress
    ) -> list[ScoredPair]:
        """The match weight and probability of the pairs that reach `floor`
        (`score_pairs`), in order; `progress(pairs compared)` after each chunk."""
        chunks = [pairs[s] for s in _chunks(len(pairs))]
        scored: Iterator[list[ScoredPair]]
        if self.pool is None:
            scored = (score_pairs(model, self.records, chunk, floor) for chunk in chunks)
        else:
            scored = self.pool.map(_scores_chunk, repeat(model.to_json()), chunks, repeat(floor))
        results: list[ScoredPair] = []
        for done, part in enumerate(scored):
            results.extend(part)
            progress(min((done + 1) * _CHUNK, len(pairs)))
        return results


def _chunks(n_pairs: int) -> list[slice]:
    return [slice(start, start + _CHUNK) for start in range(0, n_pairs, _CHUNK)]


def _init(records: bytes) -> None:
    global _records  # noqa: PLW0603 - the worker's one copy of the records
    _records = pickle.loads(records)  # noqa: S301 - our own parent process pickled them


def _vectors_chunk(pairs: Sequence[Pair]) -> Counter[Vector]:
    return count_vectors(_records, pairs)


def _scores_chunk(model_json: str, pairs: Pairs, floor: float) -> list[ScoredPair]:
    global _model, _model_json
    if _model is None or model_json != _model_json:
        _model, _model_json = MatchModel.from_json(model_json), model_json
    return score_pairs(_model, _records, pairs, floor)
