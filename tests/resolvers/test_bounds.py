"""Column-wise bounds of pairs' weights (`resolvers.bounds`): never below a
pair's weight, so bounded scoring keeps every pair that reaches review."""

from __future__ import annotations

import random
from itertools import combinations

import numpy as np
import pytest
from rapidfuzz.distance import OSA, JaroWinkler

from resolvers import batch
from resolvers import bounds as bounds_module
from resolvers.batch import BatchReport
from resolvers.blocking import Pairs, candidate_pairs
from resolvers.bounds import Bounds, Columns
from resolvers.comparisons import COMPARISONS
from resolvers.features import Features
from resolvers.match_model import MatchModel, current_labels, train
from resolvers.probabilistic import score_pairs, weight_of
from tests.resolvers.population import population
from tests.resolvers.test_match_model import _features, _test_model, feat

# Pairs at every level of every comparison, in both orders.
_EDGE_CASES = [
    feat("José González Pérez", "1", birth_date="1980-03-12", city="Madrid", postcode="28013",
         address="12 calle mayor", national_id="12345678"),
    feat("Pepe Gonzalez", "2", birth_date="1980-12-03", city="Madrdi", postcode="28013",
         address="12 calle mayr", national_id="12345687"),
    feat("Gonzalez Jose", "3", birth_date="1980-03-13", city="madrid", national_id="12345688"),
    feat("J. Gonzalez", "4", birth_date="1980-03-21", address="21 calle menor"),
    feat("Jose G.", "5", birth_date="1908-03-12", postcode="28031"),
    feat("Carlos F.", "6", twitter="cfrancavilla", email="carlos.f@gmail.com"),
    feat("Carlos Francavilla", "7", email="cfrancavilla@gmail.com", phone="+34911234567",
         national_id="X1234567", account="A-1"),
    feat("Francavilla Carlos", "8", phone="+44911234567", ip="10.0.0.1"),
    feat("Carlo Francavila", "9", ip="10.0.0.1", account="A-2", employee_id="E1"),
    feat("Agustín Acosta", "10", city="Lyon", postcode="69001", address="3 rue de la paix"),
    feat("Agustina Acosta", "11", city="Lyon", postcode="69001", address="3 rue de la paix"),
    feat("Camille S.", "12", city="Lyons"),
    feat("Camille Simon", "13", city="Paris", email="simonc@gmail.com"),
    feat("Simon Camille", "14", email="simonc@yahoo.fr"),
    feat("Francisca Ruiz Brown", "15", birth_date="1975-07-30"),
    feat("Paquita Ruiz", "16", birth_date="1975-07-03"),
    feat("Ruiz", "17"),
    feat(None, "18", ip="10.0.0.1", email="x@y.z"),
    feat("Ana Fernandez", "19", national_id="999", account="A-1"),
    feat("Ana Fernandes", "20", national_id="998"),
    # Family names of several words: the same, one shared, close, an initial,
    # three words, four (bounded by the best weight).
    feat("Lucia de la Cruz", "21", birth_date="1990-01-02"),
    feat("Lucia Cruz", "22", birth_date="1990-01-02"),
    feat("Lucia de la Crux", "23"),
    feat("Lucia Ruiz Bravo", "24"),
    feat("Lucia Bravo Ruis", "25"),
    feat("Lucia R. Bravo", "26"),
    feat("Lucia Gomez-Ruiz", "27"),
    feat("Lucia van der Berg Smit", "28"),
    feat("Lucia van der Berg", "29"),
    # Given names close only with Winkler's bonus for a shared start (0.85; 0.75 without).
    feat("Marcos Vidal", "30"),
    feat("Marcela Vidal", "31"),
]  # fmt: skip


def _random_model(seed: int, feats: list[Features]) -> MatchModel:
    """Any levels' weights, in any order, with term frequencies for the values
    seen: a bound must hold whatever the training found."""
    rng = random.Random(seed)
    m, u = {}, {}
    for comparison in COMPARISONS:
        n = len(comparison.labels)
        m[comparison.name] = _spread(rng, n)
        u[comparison.name] = _spread(rng, n)
    values: dict[str, set[str | None]] = {
        "given_name": {f.given for f in feats},
        "family_name": {" ".join(f.family) for f in feats},
        "street_number": {f.street_number for f in feats},
        "postcode": {f.postcode for f in feats},
        "city": {f.city for f in feats},
    }
    tf = {
        name: {v: rng.uniform(1e-4, 0.2) for v in found if v and rng.random() < 0.7}
        for name, found in values.items()
    }
    return MatchModel(
        prior=rng.uniform(1e-5, 0.1), m=m, u=u, tf=tf,
        tf_default={name: rng.uniform(0.0, 0.01) for name in values},
        labels=current_labels(),
    )  # fmt: skip


def _spread(rng: random.Random, n: int) -> list[float]:
    weights = [rng.uniform(0.01, 1.0) for _ in range(n)]
    return [w / sum(weights) for w in weights]


def _all_pairs(n: int) -> Pairs:
    return Pairs.of(list(combinations(range(n), 2)))


def _both_ways(pairs: Pairs) -> Pairs:
    return Pairs(
        np.concatenate([pairs.left, pairs.right]), np.concatenate([pairs.right, pairs.left])
    )


def _assert_bounds_hold(model: MatchModel, feats: list[Features], pairs: Pairs) -> None:
    """Each pair's bound is at least its weight; each measured comparison's
    ceiling (before any string is measured) at least its bound."""
    bounds = Bounds(model, feats)
    for (i, j), bound in zip(pairs, bounds.of(pairs.left, pairs.right).tolist(), strict=True):
        weight = model.weight(feats[i], feats[j])
        assert bound >= weight - 1e-9, (feats[i], feats[j], bound, weight)
    parts = bounds._parts
    for name, ceiling in bounds._ceilings(pairs.left, pairs.right).items():
        measured = parts[name](pairs.left, pairs.right, bounds_module._MEASURE)
        below = np.nonzero(ceiling < measured - 1e-9)[0]
        assert not len(below), (name, pairs.at(below[:3].tolist()))


@pytest.mark.parametrize("seed", range(8))
def test_a_bound_is_never_below_the_weight_of_any_model(seed: int) -> None:
    model = _random_model(seed, _EDGE_CASES)
    _assert_bounds_hold(model, _EDGE_CASES, _both_ways(_all_pairs(len(_EDGE_CASES))))


def test_a_bound_holds_on_a_population_and_its_trained_model() -> None:
    records, _ = population(people=150)
    feats = [_features(r) for r in records]
    pairs = candidate_pairs(feats)
    model = train(feats, pairs, u_pairs=20_000)
    _assert_bounds_hold(model, feats, _both_ways(pairs))
    _assert_bounds_hold(_test_model(), feats, _both_ways(pairs))


def test_bounded_scoring_finds_the_same_pairs_as_comparing_them_all() -> None:
    records, _ = population(people=150)
    feats = [_features(r) for r in records]
    pairs = candidate_pairs(feats)
    model = train(feats, pairs, u_pairs=20_000)
    floor = 0.9
    reaching = Bounds(model, feats).reaching(pairs, weight_of(floor))
    kept = pairs.where(reaching)
    found = score_pairs(model, feats, kept, floor)
    assert found == score_pairs(model, feats, pairs, floor)
    assert 0 < len(found) < len(pairs)
    assert len(kept) < len(pairs)  # some pairs are left out before Python compares them


def test_the_bound_of_a_pair_the_columns_pin_down_is_its_weight() -> None:
    """Where every comparison is measured (no handles, one id, one family word),
    the bound is the weight itself: the bound is tight, not just safe."""
    a = feat("Ana Fernandez", "a", birth_date="1980-03-12", city="Lyon", national_id="999")
    b = feat("Ana Fernandes", "b", birth_date="1980-12-03", city="Lyons", national_id="998")
    model = _test_model()
    [bound] = Bounds(model, [a, b]).of(np.array([0]), np.array([1])).tolist()
    assert bound == pytest.approx(model.weight(a, b))


def test_bounds_of_columns_made_beforehand_are_the_same() -> None:
    """The batch executor makes the columns before the model is trained."""
    records, _ = population(people=60)
    feats = [_features(r) for r in records]
    pairs = _all_pairs(len(feats))
    model = _test_model()
    made_before = Bounds(model, Columns(feats)).of(pairs.left, pairs.right)
    assert np.array_equal(made_before, Bounds(model, feats).of(pairs.left, pairs.right))
    assert len(np.unique(made_before)) > 10


def test_bounding_on_every_core_gives_the_same_answers(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    records, _ = population(people=150)
    feats = [_features(r) for r in records]
    pairs = _all_pairs(len(feats))  # every pair, most of them far apart
    bounds = Bounds(_test_model(), feats)
    floor = weight_of(0.9)
    here = bounds.reaching(pairs, floor)
    monkeypatch.setattr(bounds_module, "_CHUNK", 5_000)
    monkeypatch.setattr(bounds_module, "_PARALLEL_FROM_CHUNKS", 2)
    monkeypatch.setattr(bounds_module, "workers", lambda: 2)
    done: list[int] = []
    everywhere = bounds.reaching(pairs, floor, done.append)
    assert np.array_equal(here, everywhere)
    assert 0 < here.sum() < len(pairs) / 100
    assert done == [*range(5_000, len(pairs), 5_000), len(pairs)]
    assert "resolvers.forked" not in caplog.text  # the copies did it, not this process


def test_comparing_while_workers_bound_finds_the_same_pairs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the bounding on workers, the batch executor compares each chunk's
    pairs in reach as it comes back: the same pairs and weights, in order."""
    records, _ = population(people=150)
    feats = [_features(r) for r in records]
    pairs = _all_pairs(len(feats))
    model = _test_model()
    here, there = BatchReport(), BatchReport()
    assert not Bounds.on_workers(len(pairs))
    expected = batch._scored(Bounds(model, feats), feats, pairs, 0.9, report=here, progress=_ignore)
    monkeypatch.setattr(bounds_module, "_CHUNK", 5_000)
    monkeypatch.setattr(bounds_module, "_PARALLEL_FROM_CHUNKS", 2)
    monkeypatch.setattr(bounds_module, "workers", lambda: 2)
    assert Bounds.on_workers(len(pairs))
    found = batch._scored(Bounds(model, feats), feats, pairs, 0.9, report=there, progress=_ignore)
    assert found == expected
    assert 0 < there.pairs_compared == here.pairs_compared < len(pairs) / 100
    assert len(expected) > 50


def _ignore(phase: str, done: int, total: int) -> None:
    return None


def _words_with_typos(rng: random.Random, alphabet: str) -> list[str]:
    """600 random words (1 to 11 characters), then each of them again with up
    to three typos (substitutions, insertions, deletions, swaps)."""

    def typo(text: str) -> str:
        chars = list(text)
        for _ in range(rng.randrange(4)):
            at = rng.randrange(len(chars) + 1)
            kind = rng.randrange(4)
            if kind == 0 and at < len(chars):
                chars[at] = rng.choice(alphabet)
            elif kind == 1:
                chars.insert(at, rng.choice(alphabet))
            elif kind == 2 and at < len(chars):
                del chars[at]
            elif kind == 3 and at < len(chars) - 1:
                chars[at], chars[at + 1] = chars[at + 1], chars[at]
        return "".join(chars)

    words = ["".join(rng.choices(alphabet, k=rng.randrange(1, 12))) for _ in range(600)]
    return [*words, *map(typo, words)]


def _value_pairs(rng: random.Random, values: list[str]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """20,000 pairs of the values (half of them a word and its copy with typos),
    and the positions of those where both values are present."""
    a = np.array(rng.choices(range(len(values)), k=20_000))
    b = np.array([rng.randrange(len(values)) if k % 2 else (a[k] + 600) % len(values)
                  for k in range(len(a))])  # fmt: skip
    return a, b, [k for k in range(len(a)) if values[a[k]] and values[b[k]]]


def test_edits_skipped_by_the_characters_counts_are_over_two() -> None:
    """Pairs of values whose characters' counts already differ by three or
    more are not measured: every pair still gets its edits, or 3 for over two
    (values with typos, swaps, insertions, accents; lengths 1 to 11)."""
    rng = random.Random(3)
    values = _words_with_typos(rng, "0123456789abcXYZéüñ-")
    text = bounds_module._Text.of(values, {}, bags=True)
    a, b, both = _value_pairs(rng, values)
    found = bounds_module._MEASURE.osa(text, a, text, b)
    expected = [min(OSA.distance(values[a[k]], values[b[k]]), 3) for k in both]
    assert found[both].tolist() == expected
    assert {0, 1, 2, 3} <= set(expected)
    assert text.bag is not None
    skipped = bounds_module._bag_distance(text.bag[a[both]], text.bag[b[both]]) > 2
    assert 1_000 < skipped.sum() < len(both) - 1_000  # some measured, some not


@pytest.mark.parametrize("alphabet", ["abcdefghijklmnopqrstuvwxyz ", "0123456789abcXYZéüñ-qr2 "])
def test_similarities_left_unmeasured_are_below_the_least_one_asked_for(alphabet: str) -> None:
    """A similarity's ceiling is never below it (ASCII letters, and digits
    and accents sharing bits with letters). Asked for similarities from
    `least` on, a pair gets its own from there, and below it a value under
    `least` and no lower than its own; some pairs are not measured."""
    rng = random.Random(5)
    values = _words_with_typos(rng, alphabet)
    text = bounds_module._Text.of(values, {}, letters=True)
    a, b, both = _value_pairs(rng, values)
    similarity = np.array([JaroWinkler.similarity(values[a[k]], values[b[k]]) for k in both])
    ceiling = bounds_module._jaro_winkler_ceiling(text, a[both], text, b[both])
    assert (ceiling >= similarity - 1e-12).all()
    least = 0.8
    found = bounds_module._MEASURE.jaro_winkler(text, a, text, b, least)[both]
    high = similarity >= least
    assert found[high].tolist() == similarity[high].tolist()
    assert (found[~high] < least).all()
    assert (found[~high] >= similarity[~high] - 1e-12).all()
    unmeasured = (found[~high] != similarity[~high]).sum()
    assert unmeasured > 1_000, unmeasured
    assert high.sum() > 1_000, high.sum()


def test_string_measures_are_computed_once_per_pair_of_values() -> None:
    """Repeated value pairs (in either order) get what each would get alone."""
    names = ["maria", "mario", "marta", "jose", "maria"]
    records = [feat(f"{n} garcia", str(i)) for i, n in enumerate(names)]
    given = Bounds(_test_model(), records).given
    a = np.array([0, 1, 0, 2, 1, 4, 3, 0], dtype=np.int64)
    b = np.array([1, 0, 1, 0, 2, 1, 4, 4], dtype=np.int64)
    measure = bounds_module._MEASURE
    expected = [
        1.0 if names[i] == names[j] else JaroWinkler.similarity(names[i], names[j])
        for i, j in zip(a.tolist(), b.tolist(), strict=True)
    ]
    assert measure.jaro_winkler(given, a, given, b, 0.0).tolist() == expected
    edits = [OSA.distance(names[i], names[j]) for i, j in zip(a.tolist(), b.tolist(), strict=True)]
    assert measure.osa(given, a, given, b).tolist() == [min(e, 3) for e in edits]  # 3: over two
    assert max(edits) > 3
