"""The Fellegi-Sunter match model: for each comparison level, m (how often true
matches reach it) and u (how often two random records do), the prior of a match,
and term frequencies; trained from the data itself, versioned, stored as JSON.

Training (as Splink does it): u from random pairs; m and the prior by
expectation-maximisation over the blocked candidate pairs, with u held fixed.
EM runs over the distinct comparison vectors with their counts, so its cost
does not grow with the number of pairs.

A pair's match weight = prior weight + Σ log2(m/u) of its levels + term-frequency
adjustments (log2(u_exact / frequency of the agreed value)) - log2(people) for
an agreed identifier that k people share (a generic value); the match
probability is 2^w / (1 + 2^w). `explain` and `weight` share one code path,
which the batch and the online executor both call.
"""

from __future__ import annotations

import json
import math
import random
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from resolvers.blocking import Pairs
from resolvers.comparisons import COMPARISONS, comparison_index, comparison_vector
from resolvers.features import Features
from resolvers.model import utc_now

Vector = tuple[int | None, ...]
Pair = tuple[int, int]
CountVectors = Callable[[Sequence[Pair]], "Counter[Vector]"]
FORMAT = 1
_FLOOR = 1e-6  # no level is impossible: one unseen value must not veto a pair
_ANCHOR_MIN = 200  # known matches a comparison needs before they set its m
_TF_KEEP_MIN = 2  # values seen once take the default frequency (keeps the model small)
# The order `weight_from` compares in: cheap comparisons that most candidate
# pairs disagree on first, the costly name and handle comparisons last.
_CHEAP_FIRST = tuple(
    comparison_index(name)
    for name in ("birth_date", "personal_id", "postcode", "city", "street_number", "email",
                 "phone", "ip", "family_name", "given_name", "address", "handle")
)  # fmt: skip


class ModelMismatchError(ValueError):
    """A stored model was trained with other comparisons; train it again."""


@dataclass(frozen=True)
class ComparisonWeight:
    """One comparison's part of a pair's match weight."""

    comparison: str
    level: str | None  # None: null (a side lacks the value)
    weight: float
    tf_adjustment: float = 0.0
    value: str | None = None  # the agreed value, when its frequency adjusted the weight
    generic_adjustment: float = 0.0  # -log2(people) when the agreed value is generic


@dataclass(frozen=True)
class Explanation:
    """Why two records (or a record and a profile) match or not."""

    prior_weight: float
    parts: tuple[ComparisonWeight, ...]
    weight: float
    probability: float

    def as_dict(self) -> dict[str, object]:
        return {
            "prior_weight": round(self.prior_weight, 4),
            "weight": round(self.weight, 4),
            "probability": self.probability,
            "parts": [vars(p) for p in self.parts],
        }


def probability(weight: float) -> float:
    return 1.0 / (1.0 + 2.0 ** (-weight)) if weight > -1000 else 0.0


@dataclass
class MatchModel:
    """Trained parameters; `labels` pins the comparisons the model was trained with."""

    prior: float
    m: dict[str, list[float]]
    u: dict[str, list[float]]
    tf: dict[str, dict[str, float]] = field(default_factory=dict)
    tf_default: dict[str, float] = field(default_factory=dict)
    version: str = ""
    trained_at: str = ""
    records: int = 0
    candidate_pairs: int = 0
    em_iterations: int = 0
    labels: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._log_ratio = {
            c.name: [math.log2(m / u) for m, u in zip(self.m[c.name], self.u[c.name], strict=True)]
            for c in COMPARISONS
        }
        self._prior_weight = math.log2(self.prior / (1.0 - self.prior))
        self._best = [self._best_weight(index) for index in range(len(COMPARISONS))]
        self._best_total = sum(self._best)

    # -- scoring ---------------------------------------------------------------

    def explain(self, a: Features, b: Features) -> Explanation:
        """Each comparison's level and weight, the total and the probability."""
        vector = comparison_vector(a, b)
        parts = tuple(self._part(index, level, a, b) for index, level in enumerate(vector))
        total = self._prior_weight + sum(
            p.weight + p.tf_adjustment + p.generic_adjustment for p in parts
        )
        return Explanation(self._prior_weight, parts, total, probability(total))

    def weight(self, a: Features, b: Features) -> float:
        """The match weight of a pair: what `explain` totals, to the last bit,
        without building the explanation."""
        weight = self.weight_from(a, b, -math.inf)
        assert weight is not None
        return weight

    def weight_from(self, a: Features, b: Features, floor: float) -> float | None:
        """The pair's match weight, or None as soon as it cannot reach `floor`
        (the comparisons most pairs disagree on first; each of the others adds
        at most its best level's weight)."""
        parts = [0.0] * len(COMPARISONS)
        reachable = self._prior_weight + self._best_total
        for index in _CHEAP_FIRST:
            level = COMPARISONS[index].level(a, b)
            if level is not None:
                weight, tf_adjustment, _, generic_adjustment = self._weights(index, level, a, b)
                parts[index] = weight + tf_adjustment + generic_adjustment
            reachable += parts[index] - self._best[index]
            if reachable < floor:
                return None
        return self._prior_weight + sum(parts)  # in the order `explain` adds them

    def vector_weight(self, vector: Vector) -> float:
        """The weight of a comparison vector, without term-frequency adjustments."""
        return self._prior_weight + sum(
            self._log_ratio[c.name][level]
            for c, level in zip(COMPARISONS, vector, strict=True)
            if level is not None
        )

    def _part(self, index: int, level: int | None, a: Features, b: Features) -> ComparisonWeight:
        comparison = COMPARISONS[index]
        if level is None:
            return ComparisonWeight(comparison.name, None, 0.0)
        weight, tf_adjustment, value, generic_adjustment = self._weights(index, level, a, b)
        label = comparison.labels[level]
        return ComparisonWeight(comparison.name, label, weight, tf_adjustment, value,
                                generic_adjustment)  # fmt: skip

    def _weights(
        self, index: int, level: int, a: Features, b: Features
    ) -> tuple[float, float, str | None, float]:
        """A level's weight, its term-frequency adjustment (with the agreed value)
        and its generic-value adjustment."""
        comparison = COMPARISONS[index]
        weight = self._log_ratio[comparison.name][level]
        if level != 0:
            return weight, 0.0, None, 0.0
        if comparison.agreed is not None:
            return weight, 0.0, None, _generic_adjustment(comparison.agreed(a, b), a, b)
        value = comparison.tf_value(a, b) if comparison.tf_value is not None else None
        adjustment = self._tf_adjustment(comparison.name, value)
        if adjustment is None:
            return weight, 0.0, None, 0.0
        return weight, adjustment, value, 0.0

    def _tf_adjustment(self, comparison: str, value: str | None) -> float | None:
        """How much more (or less) agreeing on `value` says than agreeing on an
        average value; None when its frequency is unknown."""
        if value is None:
            return None
        frequency = self.tf.get(comparison, {}).get(value) or self.tf_default.get(comparison, 0.0)
        return math.log2(self.u[comparison][0] / frequency) if frequency > 0.0 else None

    # -- what `resolvers.bounds` reads -----------------------------------------

    @property
    def prior_weight(self) -> float:
        return self._prior_weight

    def level_weights(self, comparison: str) -> list[float]:
        """Each level's weight (the last: different), before adjustments."""
        return self._log_ratio[comparison]

    def exact_weight(self, comparison: str, value: str | None) -> float:
        """The exact level's weight when two records agree on `value`."""
        return self._log_ratio[comparison][0] + (self._tf_adjustment(comparison, value) or 0.0)

    def best_weight(self, comparison: str) -> float:
        """The most a comparison can add to a pair's weight (`_best_weight`)."""
        return self._best[comparison_index(comparison)]

    def _best_weight(self, index: int) -> float:
        """The most a comparison can add: its best level with the rarest value's
        adjustment (at least 0: a null comparison adds nothing)."""
        name = COMPARISONS[index].name
        best = max(self._log_ratio[name])
        known = (*self.tf.get(name, {}).values(), self.tf_default.get(name, 0.0))
        frequencies = [f for f in known if f > 0.0]
        if frequencies:
            rarest = math.log2(self.u[name][0] / min(frequencies))
            best = max(best, self._log_ratio[name][0] + rarest)
        return max(best, 0.0)

    # -- storage ---------------------------------------------------------------

    def to_json(self) -> str:
        body = {
            "format": FORMAT,
            **{k: v for k, v in vars(self).items() if not k.startswith("_")},
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":"))

    @staticmethod
    def from_json(text: str) -> MatchModel:
        body = json.loads(text)
        if body.pop("format", None) != FORMAT or body.get("labels") != current_labels():
            raise ModelMismatchError(
                "the stored match model was trained with other comparisons; "
                "run `directory resolve --train`"
            )
        return MatchModel(**body)


def _generic_adjustment(agreed: set[str], a: Features, b: Features) -> float:
    """An agreed identifier weighs less the more people share it: a generic value
    (a family email, a switchboard) carried by k people loses log2(k)."""
    people = [a.shared_by.get(key) or b.shared_by.get(key) for key in sorted(agreed)]
    if not people or None in people:  # a value of one person agrees
        return 0.0
    fewest = min(p for p in people if p is not None)
    return -math.log2(max(fewest, 1))


def current_labels() -> dict[str, list[str]]:
    return {c.name: list(c.labels) for c in COMPARISONS}


# -- training ----------------------------------------------------------------


U_PAIRS, EM_PAIRS = 100_000, 300_000  # training's random and candidate pairs, at most


def training_pairs(candidates: int) -> int:
    """How many pairs training compares, at most, given this many candidate pairs."""
    return U_PAIRS + min(candidates, EM_PAIRS)


def train(
    records: Sequence[Features],
    candidate_pairs: Pairs,
    *,
    groups: Sequence[int] | None = None,
    u_pairs: int = U_PAIRS,
    em_pairs: int = EM_PAIRS,
    iterations: int = 40,
    seed: int = 1,
    count: CountVectors | None = None,
) -> MatchModel:
    """Estimate u from random pairs, then m and the prior by EM over the candidates.

    `groups[i]` is record i's deterministic cluster: candidate pairs inside one
    cluster share a strong identifier and are known matches, so EM holds their
    match share at 1 (semi-supervised). Without them EM may settle on some other
    split of the pairs (households, cities) instead of people. EM sees a seeded
    sample of at most `em_pairs` candidate pairs (the share of matches it finds
    is the same; comparing every pair twice, here and in scoring, is not).
    `count` compares pairs (default: here; the batch executor uses every core).
    """
    n = len(records)
    if n < 2:
        raise ValueError("training needs at least two records")
    count = count or (lambda pairs: count_vectors(records, pairs))
    u = estimate_u(n, u_pairs, seed, count)
    n_candidates = len(candidate_pairs)
    if n_candidates > em_pairs:
        candidates = candidate_pairs.at(random.Random(seed).sample(range(n_candidates), em_pairs))
    else:
        candidates = list(candidate_pairs)
    same = [groups is not None and groups[i] == groups[j] for i, j in candidates]
    known = count([p for p, s in zip(candidates, same, strict=True) if s])
    patterns = count([p for p, s in zip(candidates, same, strict=True) if not s])
    m, blocked_prior, rounds = expectation_maximisation(patterns, u, iterations, known)
    all_pairs = n * (n - 1) / 2
    prior = min(max(blocked_prior * n_candidates / all_pairs, 1e-12), 0.5)
    tf, tf_default = term_frequencies(records)
    trained_at = utc_now()
    return MatchModel(
        prior=prior,
        m=m,
        u=u,
        tf=tf,
        tf_default=tf_default,
        version=f"fs-{trained_at}-{uuid.uuid4().hex[:6]}",  # unique across graphs
        trained_at=trained_at,
        records=n,
        candidate_pairs=n_candidates,
        em_iterations=rounds,
        labels=current_labels(),
    )


def count_vectors(records: Sequence[Features], pairs: Sequence[Pair]) -> Counter[Vector]:
    """How many of the pairs reach each comparison vector."""
    return Counter(comparison_vector(records[i], records[j]) for i, j in pairs)


def estimate_u(n: int, pairs: int, seed: int, count: CountVectors) -> dict[str, list[float]]:
    """Level frequencies among random pairs of n records (nearly all non-matches)."""
    rng = random.Random(seed)
    sample = []
    for _ in range(min(pairs, n * (n - 1) // 2)):
        i, j = rng.randrange(n), rng.randrange(n - 1)
        sample.append((i, j + (j >= i)))
    counts = {c.name: [0] * len(c.labels) for c in COMPARISONS}
    for vector, times in count(sample).items():
        for c, level in zip(COMPARISONS, vector, strict=True):
            if level is not None:
                counts[c.name][level] += times
    return {name: _normalised(level_counts) for name, level_counts in counts.items()}


def expectation_maximisation(
    patterns: Counter[Vector],
    u: dict[str, list[float]],
    iterations: int,
    known: Counter[Vector] | None = None,
) -> tuple[dict[str, list[float]], float, int]:
    """m per level and the share of matches among all the pairs (u fixed).

    `known` pairs are matches whatever the parameters say, and they anchor the
    match class: the m of each comparison they observe often enough (and are
    not biased on: they were linked by identifiers) is taken from them and
    held, so EM cannot drift to another class such as "same household".
    """
    known = known or Counter()
    anchored = _anchored_m(known)
    m = {c.name: anchored.get(c.name) or _initial_m(len(c.labels)) for c in COMPARISONS}
    prior = 0.1
    rounds = 0
    weighted = [(v, n, False) for v, n in patterns.items()] + [
        (v, n, True) for v, n in known.items()
    ]
    for rounds in range(1, iterations + 1):  # noqa: B007 - reported
        sums = {c.name: [0.0] * len(c.labels) for c in COMPARISONS}
        matched = total = 0.0
        for vector, count, is_known in weighted:
            p = 1.0 if is_known else _match_share(vector, m, u, prior)
            matched += p * count
            total += count
            for c, level in zip(COMPARISONS, vector, strict=True):
                if level is not None:
                    sums[c.name][level] += p * count
        new_m = {name: anchored.get(name) or _normalised(values) for name, values in sums.items()}
        new_prior = min(max(matched / total, 1e-9), 1 - 1e-9) if total else prior
        change = max(abs(x - y) for name in m for x, y in zip(m[name], new_m[name], strict=True))
        m, prior = new_m, new_prior
        if change < 1e-6:
            break
    return m, prior, rounds


def _anchored_m(known: Counter[Vector]) -> dict[str, list[float]]:
    """m from the known matches for each non-identifier comparison they observe
    at least `_ANCHOR_MIN` times (add-one smoothed level frequencies)."""
    counts = {c.name: [1.0] * len(c.labels) for c in COMPARISONS}
    for vector, count in known.items():
        for c, level in zip(COMPARISONS, vector, strict=True):
            if level is not None:
                counts[c.name][level] += count
    return {
        c.name: _normalised(counts[c.name])
        for c in COMPARISONS
        if not c.identifier and sum(counts[c.name]) - len(c.labels) >= _ANCHOR_MIN
    }


def _match_share(
    vector: Vector, m: dict[str, list[float]], u: dict[str, list[float]], prior: float
) -> float:
    log_odds = math.log(prior / (1 - prior))
    for c, level in zip(COMPARISONS, vector, strict=True):
        if level is not None:
            log_odds += math.log(m[c.name][level] / u[c.name][level])
    return 1.0 / (1.0 + math.exp(-min(max(log_odds, -700), 700)))


def _initial_m(levels: int) -> list[float]:
    """Most matches agree: 0.9 at the top level, the rest falling away."""
    rest = [0.5**k for k in range(1, levels)]
    return [0.9] + [0.1 * r / sum(rest) for r in rest] if rest else [1.0]


def _normalised(values: Sequence[float]) -> list[float]:
    total = sum(values)
    if total <= 0:
        return [1.0 / len(values)] * len(values)
    return [max(v / total, _FLOOR) for v in values]


def term_frequencies(
    records: Sequence[Features],
) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """Each comparison's value frequencies (values seen twice or more) and the
    frequency a value seen once has."""
    tf: dict[str, dict[str, float]] = {}
    default: dict[str, float] = {}
    for comparison in COMPARISONS:
        if comparison.tf_value is None:
            continue
        counts = Counter(v for f in records for v in comparison.tf_of(f))
        total = sum(counts.values())
        if not total:
            continue
        tf[comparison.name] = {v: n / total for v, n in counts.items() if n >= _TF_KEEP_MIN}
        default[comparison.name] = 1.0 / total
    return tf, default
