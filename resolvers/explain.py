"""Why two records, a record and a profile, or two profiles match (or not),
with the stored match model: each comparison's level and weight, the
term-frequency and generic-value adjustments, the total and the probability.

A profile is compared by its best evidence: the pair of records, one from each
side, with the highest match weight.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from graph.model import MatchingRow
from graph.store import CURRENT_MODEL, GraphWriter
from resolvers.batch import record_features
from resolvers.match_model import Explanation, MatchModel

# Records compared per side when a side is a profile.
_MAX_RECORDS = 50


@dataclass(frozen=True)
class PairExplanation:
    """The explanation of the best-matching pair of records of the two sides."""

    left: str  # record keys
    right: str
    model_version: str
    explanation: Explanation


class ModelCache:
    """The current match model, parsed once per version (a model is never changed
    in place: training stores a new version). Which version is current is asked
    of the graph at most every `ttl_s` seconds per graph once there is one (a
    graph without a model is asked every time: the first model counts at once)."""

    def __init__(self, ttl_s: float = 5.0) -> None:
        self._lock = threading.Lock()
        self._model: MatchModel | None = None
        self._ttl_s = ttl_s
        self._checked: dict[int, tuple[float, str | None]] = {}  # id(backend) -> (when, version)

    def current(self, writer: GraphWriter) -> MatchModel | None:
        version = self._version(writer)
        with self._lock:
            if version is None:
                return None
            if self._model is None or self._model.version != version:
                body = writer.current_match_model()
                self._model = MatchModel.from_json(body) if body else None
            return self._model

    def _version(self, writer: GraphWriter) -> str | None:
        now = time.monotonic()
        checked = self._checked.get(id(writer.backend))
        if checked is not None and now - checked[0] < self._ttl_s:
            return checked[1]
        version = writer.setting(CURRENT_MODEL)
        if version is not None:
            self._checked[id(writer.backend)] = (now, version)
        return version


def why(writer: GraphWriter, model: MatchModel, a: str, b: str) -> PairExplanation | None:
    """Explain two sides, each a record key ("source/source_id") or a profile id;
    None when a side is unknown or the two sides are the same single record."""
    left, right = _records(writer, a), _records(writer, b)
    pairs = [
        (x, y, model.explain(record_features(x), record_features(y)))
        for x in left
        for y in right
        if x.key != y.key
    ]
    if not pairs:
        return None
    x, y, best = max(pairs, key=lambda item: (item[2].weight, item[0].key, item[1].key))
    return PairExplanation(x.key, y.key, model.version, best)


def _records(writer: GraphWriter, side: str) -> list[MatchingRow]:
    if "/" in side:
        return writer.matching_rows([side])
    profile_id = writer.resolve_profile_id(side)
    if profile_id is None:
        return []
    return writer.profile_matching_rows([profile_id], _MAX_RECORDS)
