"""The match model: comparison levels, training, weights, storage, and the
decisions that protect precision (no merge of two people)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest

from resolvers import pairwork
from resolvers.blocking import candidate_pairs
from resolvers.comparisons import COMPARISONS
from resolvers.features import Features, features
from resolvers.match_model import MatchModel, ModelMismatchError, current_labels, train
from resolvers.pairwork import PairWork
from resolvers.probabilistic import (
    Groups,
    ScoredPair,
    Thresholds,
    beyond_names,
    conflicts,
    decide,
    groups_conflict,
    judged_apart_index,
    score_pairs,
)
from resolvers.records import iter_json_array_items
from tests.resolvers.population import population


def feat(name: str | None = None, key: str = "r", **fields: str) -> Features:
    """Features from a name, attributes and identifiers (type=value keywords)."""
    attribute_names = {"birth_date", "address", "postcode", "city"}
    attributes = {k: v for k, v in fields.items() if k in attribute_names}
    identifiers = [(k, v) for k, v in fields.items() if k not in attribute_names]
    return features(key, name, attributes, identifiers)


def generic(f: Features, shared_by: Mapping[str, int]) -> Features:
    """The features with some values marked generic (shared by that many people)."""
    return replace(f, shared_by=shared_by)


def level(comparison: str, a: Features, b: Features) -> str | None:
    found = next(c for c in COMPARISONS if c.name == comparison)
    index = found.level(a, b)
    return None if index is None else found.labels[index]


@pytest.mark.parametrize(
    ("comparison", "left", "right", "expected"),
    [
        ("given_name", "José González", "Jose Gonzalez", "exact"),
        ("given_name", "José González", "Pepe González", "nickname"),
        ("given_name", "Francisca Ruiz", "Paquita Ruiz", "nickname"),
        ("given_name", "Jonathan Smith", "Jonathon Smith", "jaro_winkler>=0.92"),
        ("given_name", "J. Smith", "John Smith", "initial"),
        ("given_name", "Agustín Acosta", "Agustina Acosta", "different"),  # two people
        ("given_name", "Gonzalez Carlos", "Carlos Gonzalez", "exact"),  # swapped order
        ("given_name", "Carlos", None, None),  # null: one side has no name
        ("family_name", "José González Pérez", "José González Pérez", "exact"),
        ("family_name", "José González Pérez", "Pepe González", "one_word_shared"),
        ("family_name", "Ana Fernandez", "Ana Fernandes", "jaro_winkler>=0.92"),
        ("family_name", "Camille S.", "Camille Simon", "initial"),
        ("family_name", "Ana Ruiz", "Ana Brown", "different"),
    ],
)
def test_name_levels(comparison: str, left: str, right: str | None, expected: str | None) -> None:
    assert level(comparison, feat(left), feat(right)) == expected


def test_a_handle_completes_an_abbreviated_name() -> None:
    """The tweet from @cfrancavilla signed "Carlos F." is read as Carlos Francavilla."""
    tweet = feat("Carlos F.", twitter="cfrancavilla")
    assert tweet.family == ("francavilla",)
    assert level("family_name", tweet, feat("Carlos Francavilla")) == "exact"


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("1980-03-12", "1980-03-12", "exact"),
        ("1980-03-12", "1980-03-13", "one_typo"),
        ("1980-03-12", "1980-12-03", "day_month_swapped"),
        ("1980-03-12", "1975-07-30", "different"),
    ],
)
def test_birth_date_levels(left: str, right: str, expected: str) -> None:
    assert level("birth_date", feat(birth_date=left), feat(birth_date=right)) == expected


def test_identifier_levels() -> None:
    assert level("personal_id", feat(national_id="12345678"), feat(national_id="12345687")) == (
        "one_typo"
    )
    assert level("email", feat(email="cf@gmail.com"), feat(email="cf@yahoo.com")) == (
        "same_local_part"
    )
    # A local part that is only the name written as a handle agrees for every
    # Rosa Iglesias: no evidence beyond the names.
    rosa = feat("Rosa Iglesias", email="rosaiglesias@gmail.com")
    assert level("email", rosa, feat("Rosa Iglesias", email="rosaiglesias@yahoo.es")) == (
        "different"
    )
    crm = feat("Carlos Francavilla", email="carlos.f@gmail.com")
    assert level("handle", feat(twitter="cfrancavilla"), crm) == "made_of_the_name_with_an_initial"
    assert level("ip", feat(ip="10.0.0.1"), feat(ip="10.0.0.1")) == "shared"


def _test_model(prior: float = 1e-4) -> MatchModel:
    """Plain parameters: agreeing levels likely for matches, rare for others."""
    m, u = {}, {}
    for comparison in COMPARISONS:
        n = len(comparison.labels)
        agree = [0.9 / 2**k for k in range(n - 1)]
        m[comparison.name] = [*agree, 0.02]
        chance = [0.01 / 2**k for k in range(n - 1)]
        u[comparison.name] = [*chance, 1 - sum(chance)]
    return MatchModel(prior=prior, m=m, u=u, labels=current_labels())


def test_weights_add_up_and_explain_themselves() -> None:
    model = _test_model()
    a = feat("Carlos Francavilla", city="Buenos Aires", birth_date="1980-03-12")
    b = feat("Carlos Francavilla", city="Buenos Aires", birth_date="1980-03-12")
    explained = model.explain(a, b)
    parts = {p.comparison: p for p in explained.parts}
    assert parts["given_name"].level == "exact"
    assert parts["email"].level is None  # null: nothing to compare
    total = explained.prior_weight + sum(p.weight + p.tf_adjustment for p in explained.parts)
    assert explained.weight == pytest.approx(total)
    assert explained.probability == pytest.approx(1 / (1 + 2 ** (-total)))
    assert model.weight(a, b) == explained.weight


def test_the_fast_weight_is_the_explained_weight_to_the_last_bit() -> None:
    """Scoring skips the explanation and stops early below a floor; the weight
    it gives (and the pairs it drops) must be exactly those of `explain`."""
    records, _ = population(people=80)
    feats = [_features(r) for r in records]
    pairs = candidate_pairs(feats)
    model = train(feats, pairs, u_pairs=20_000)
    floor = 3.0
    for i, j in pairs:
        explained = model.explain(feats[i], feats[j]).weight
        assert model.weight(feats[i], feats[j]) == explained
        fast = model.weight_from(feats[i], feats[j], floor)
        assert fast == (explained if explained >= floor else None)
    assert any(model.weight_from(feats[i], feats[j], floor) is None for i, j in pairs)


def test_rare_names_weigh_more_than_common_ones() -> None:
    records, _ = population(people=150)
    feats = [_features(r) for r in records]
    model = train(feats, candidate_pairs(feats), u_pairs=20_000)
    common = max(model.tf["family_name"], key=lambda v: model.tf["family_name"][v])
    rare = feat("Zoe Xylander")
    rare_pair = model.explain(rare, feat("Zoe Xylander"))
    common_pair = model.explain(feat(f"Zoe {common}"), feat(f"Zoe {common}"))
    assert rare_pair.weight > common_pair.weight


def test_a_generic_value_weighs_less_the_more_people_share_it() -> None:
    model = _test_model()
    alone = model.explain(feat(email="casa@x.org"), feat(email="casa@x.org"))
    shared = {"email:casa@x.org": 4}
    family = model.explain(
        generic(feat(email="casa@x.org"), shared), generic(feat(email="casa@x.org"), shared)
    )
    assert alone.weight - family.weight == pytest.approx(math.log2(4))


def _features(record: dict[str, Any]) -> Features:
    [line] = iter_json_array_items([record], default_region=None)
    assert line.record is not None
    r = line.record
    return features(r.key, r.name, r.attributes, [(i.type, i.value) for i in r.identifiers])


def test_training_finds_the_people_in_a_seeded_population() -> None:
    records, truth = population(people=150)
    feats = [_features(r) for r in records]
    pairs = candidate_pairs(feats)
    model = train(feats, pairs, u_pairs=20_000)
    for comparison in ("given_name", "family_name", "birth_date"):
        assert model.m[comparison][0] > 10 * model.u[comparison][0], comparison
    scored = score_pairs(model, feats, pairs)
    decided = decide(feats, list(range(len(feats))), scored, Thresholds())
    groups = Groups(list(range(len(feats))))
    for pair in decided.links:
        groups.union(groups.find(pair.left), groups.find(pair.right))
    people = [truth[f.key] for f in feats]
    linked = [(i, j) for i, j in pairs if groups.find(i) == groups.find(j)]
    assert all(people[i] == people[j] for i, j in linked)
    # The CRM entered twice (typos in name and address, same birth date) links;
    # a tweet signed "Lucía M." in the same city is weaker evidence: in between.
    crm_twice = [(i, j) for i, j in pairs if people[i] == people[j] and _both_crm(feats, i, j)]
    assert sum(1 for pair in crm_twice if pair in linked) >= 0.9 * len(crm_twice)
    by_truth: dict[bool, list[float]] = {True: [], False: []}
    for pair in scored:
        by_truth[people[pair.left] == people[pair.right]].append(pair.weight)
    assert min(by_truth[True]) > sorted(by_truth[False])[len(by_truth[False]) // 2]


def _both_crm(feats: list[Features], i: int, j: int) -> bool:
    return feats[i].key.startswith("crm/") and feats[j].key.startswith("crm/")


def test_the_model_round_trips_through_json() -> None:
    model = _test_model()
    again = MatchModel.from_json(model.to_json())
    a, b = feat("Ana Ruiz", city="Madrid"), feat("Ana Ruiz", city="Madrid")
    assert again.weight(a, b) == model.weight(a, b)


def test_a_model_of_other_comparisons_is_refused() -> None:
    body = _test_model().to_json().replace('"given_name"', '"first_name"')
    with pytest.raises(ModelMismatchError, match="directory resolve --train"):
        MatchModel.from_json(body)


# -- protections ---------------------------------------------------------------


def _decide(records: list[Features], prior: float = 1e-4) -> Any:
    model = _test_model(prior)
    pairs = [(i, j) for i in range(len(records)) for j in range(i + 1, len(records))]
    scored = score_pairs(model, records, pairs)
    return decide(records, list(range(len(records))), scored, Thresholds())


def test_two_people_with_one_name_in_one_city_are_not_merged() -> None:
    """Same name, street and postcode: the weights alone would link them; their
    birth dates and account numbers say two people."""
    street = {"city": "Buenos Aires", "address": "Belgrano 257", "postcode": "C1406"}
    carlos_1 = feat("Carlos González", "a", birth_date="1980-03-12", account="AR0099812",
                    **street)  # fmt: skip
    carlos_2 = feat("Carlos González", "b", birth_date="1975-07-30", account="AR5531207",
                    **street)  # fmt: skip
    decided = _decide([carlos_1, carlos_2], prior=1e-3)
    assert decided.links == []
    [(pair, reason)] = decided.review
    assert pair.probability >= Thresholds().match
    assert reason == "not linked: different birth dates, different account"


def test_a_family_sharing_an_email_an_ip_and_an_address_is_not_merged() -> None:
    shared = {"email:casa.simon@orange.fr": 2}
    home = {"email": "casa.simon@orange.fr", "ip": "92.1.2.3", "address": "757 avenue Hugo",
            "city": "Paris", "postcode": "75016"}  # fmt: skip
    parent = generic(feat("Camille Simon", "a", birth_date="1948-02-16", **home), shared)
    child = generic(feat("Antoine Simon", "b", birth_date="1980-06-09", **home), shared)
    assert _decide([parent, child]).links == []


def test_a_shared_ip_alone_links_nobody() -> None:
    assert _decide([feat(None, "a", ip="10.1.2.3"), feat(None, "b", ip="10.1.2.3")]).links == []


def test_evidence_does_not_chain_two_people_through_a_third_record() -> None:
    """B (a tweet) matches both A and C, who are two people: B joins one of them."""
    a = feat("Carlos González", "a", city="Madrid", birth_date="1980-03-12", account="ES1775413",
             address="Calle Mayor 3", postcode="28013")  # fmt: skip
    b = feat("Carlos González", "b", city="Madrid", address="Calle Mayor 3", postcode="28013")
    c = feat("Carlos González", "c", city="Madrid", birth_date="1975-07-30", account="ES6729353",
             address="Calle Mayor 3", postcode="28013")  # fmt: skip
    decided = _decide([a, b, c])
    assert len(decided.links) == 1
    assert any("not linked" in reason for _, reason in decided.review)


def test_one_conflicting_fact_raises_the_bar_and_two_block() -> None:
    thresholds = Thresholds(match=0.999)
    assert thresholds.required(0) == 0.999
    assert thresholds.required(1) == pytest.approx(0.99999)
    assert thresholds.required(2) > 1
    assert Thresholds(match=0.999, blocking_conflicts=3).required(2) < 1


def test_names_alone_need_the_higher_threshold() -> None:
    """At p = 0.995 a pair links only if it agrees on more than names: the
    Facebook page "Sylvie Martin" in Lyon may be any Sylvie Martin there."""
    crm = feat("Sylvie Martin", "a", city="Lyon", birth_date="1971-05-02",
               email="sylvie.martin@free.fr")  # fmt: skip
    page = feat("Sylvie Martin", "b", city="Lyon")
    same_day = feat("Sylvie Martin", "c", city="Lyon", birth_date="1971-05-02")
    thresholds = Thresholds(match=0.999, evidence_match=0.99)
    assert not thresholds.may_link(0.995, crm, page)
    assert thresholds.may_link(0.9995, crm, page)
    assert thresholds.may_link(0.995, crm, same_day)
    assert not thresholds.may_link(0.985, crm, same_day)
    # A family's email (shared by three people) is not evidence of which member.
    family = {"email:sylvie.martin@free.fr": 3}
    mailer = feat("Sylvie Martin", "d", email="sylvie.martin@free.fr")
    assert beyond_names(crm, mailer)
    assert not beyond_names(generic(crm, family), generic(mailer, family))
    with pytest.raises(ValueError, match="evidence match"):
        Thresholds(match=0.99, evidence_match=0.995)


def test_decisions_use_the_bar_each_pair_reaches() -> None:
    crm = feat("Sylvie Martin", "a", city="Lyon", birth_date="1971-05-02")
    page = feat("Sylvie Martin", "b", city="Lyon")
    same_day = feat("Sylvie Martin", "c", city="Lyon", birth_date="1971-05-02")
    scored = [ScoredPair(0, 1, 7.6, 0.995), ScoredPair(0, 2, 7.6, 0.995)]
    decided = decide([crm, page, same_day], [0, 1, 2], scored, Thresholds())
    assert [(p.left, p.right) for p in decided.links] == [(0, 2)]
    assert [(p.left, p.right, why) for p, why in decided.review] == [
        (0, 1, "between the thresholds")
    ]


def test_the_same_given_name_is_never_a_gendered_pair() -> None:
    """Olivia and Olivia are one name, whatever the family names say (the
    Agustín/Agustina rule once flagged identical names ending in "a")."""
    olivia = feat("Olivia Frogley", "a", birth_date="1964-03-09")
    typed = feat("Olivia Frogleie", "b", birth_date="1964-03-09")
    assert conflicts(olivia, typed) == []
    assert conflicts(feat("Agustín Acosta", "c"), feat("Agustina Acost", "d")) == [
        "different given names"
    ]


def test_the_same_personal_id_offsets_one_conflict_but_a_shared_account_does_not() -> None:
    # Keyed data replaced the given name and the birth date; the national id stayed.
    original = feat("Matthew Sincovich", "a", birth_date="1960-07-31", national_id="4440480")
    keyed = feat("Kynan Sincovich", "b", birth_date="1947-09-22", national_id="4440480")
    count, reason = groups_conflict([original], [keyed])
    assert count == 1
    assert reason == (
        "different birth dates, different given names (one offset by the same national_id)"
    )
    # A parent and a child on one household account: two conflicts, never linked.
    parent = feat("Matthew Sincovich", "c", birth_date="1960-07-31", account="ACC-1")
    child = feat("Kynan Sincovich", "d", birth_date="1987-09-22", account="ACC-1")
    assert groups_conflict([parent], [child])[0] == 2
    # An id seen on many people is a placeholder, not evidence.
    placeholder = {"national_id:4440480": 5}
    assert groups_conflict([generic(original, placeholder)], [generic(keyed, placeholder)])[0] == 2
    # Nothing to offset when nothing conflicts.
    assert groups_conflict([original], [replace(original, key="e")]) == (0, None)


def test_a_group_is_judged_on_its_best_evidence_fact_by_fact() -> None:
    """A profile that already holds a variant (a keyed given name, kept by the
    shared national id) is not held to it: a record agreeing with another of
    its records on the given name conflicts on the id alone. Twins (another
    given name and another id, the same birth date and address) still conflict
    twice."""
    home = {"birth_date": "1997-04-30", "address": "14 wilshire street"}
    erin = feat("Erin Maynard", "a", national_id="7429462", **home)
    keyed = feat("Hayley Maynard", "b", national_id="7429462", **home)
    retyped = feat("Erin Maynard", "c", national_id="1815999", **home)
    assert groups_conflict([erin, keyed], [retyped]) == (1, "different national_id")
    twin = feat("Liam Maynard", "d", national_id="2705026", **home)
    assert groups_conflict([erin, keyed], [twin]) == (
        2,
        "different national_id, different given names",
    )
    scored = [ScoredPair(0, 2, 30.0, 1 - 2**-30), ScoredPair(0, 3, 30.0, 1 - 2**-30)]
    decided = decide([erin, keyed, retyped, twin], [0, 0, 1, 2], scored, Thresholds())
    assert [(p.left, p.right) for p in decided.links] == [(0, 2)]
    assert [why for _, why in decided.review] == [
        "not linked: different national_id, different given names"
    ]


def test_only_full_names_show_a_group_agrees_on_the_given_name() -> None:
    """A one-word name or an initial differs from few names, but agrees with
    none: it does not cancel the given names that do differ (two false merges
    of the 1M set: "Egan" beside "E. Ferris", "White" beside "Whyte Kieren")."""
    day = {"birth_date": "1965-09-22"}
    egan = feat("Egan", "a", national_id="2081860", **day)
    ferris = [
        feat("Edward Ferris", "b", national_id="7746315", **day),
        feat("E Ferris", "c", national_id="7746315", **day),
    ]
    assert conflicts(egan, ferris[1]) == ["different national_id"]
    assert groups_conflict([egan], ferris) == (
        2,
        "different national_id, different given names",
    )
    kieren = [
        feat("Kieren White", "d", national_id="3967675", **day),
        feat("Whyte Kieren", "e", national_id="3967675", **day),
    ]
    dimitri = [
        feat("Dimitri White", "f", national_id="9835445", **day),
        feat("White", "g", national_id="9385445", **day),
    ]
    assert groups_conflict(kieren, dimitri)[0] == 2


def test_facts_stated_by_different_records_of_a_group_add_up() -> None:
    """One record of the group gives the birth date, another the given name: the
    other group differs on both, so two conflicts, as one record with both."""
    dated = feat("", "a", birth_date="1960-07-31", city="Lyon")
    named = feat("Matthew Sincovich", "b", city="Lyon")
    other = feat("Kynan Sincovich", "c", birth_date="1987-09-22", city="Lyon")
    assert groups_conflict([dated, named], [other]) == (
        2,
        "different birth dates, different given names",
    )


def test_comparing_on_every_core_gives_the_same_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    records, _ = population(people=60)
    feats = [_features(r) for r in records]
    pairs = candidate_pairs(feats)
    listed = list(pairs)
    model = _test_model()
    with PairWork(feats, 0) as here:
        assert here.pool is None
        expected = (here.vectors(listed), here.scores(model, pairs), here.scores(model, pairs, 0.9))
    assert 0 < len(expected[2]) < len(expected[1])
    monkeypatch.setattr(pairwork, "_PARALLEL_FROM", 1)
    monkeypatch.setattr(pairwork, "_PAIRS_PER_RECORD", 0)
    monkeypatch.setattr(pairwork, "_CHUNK", 25)
    monkeypatch.setattr(pairwork, "workers", lambda: 2)
    with PairWork(feats, len(pairs)) as everywhere:
        assert everywhere.pool is not None
        found = (
            everywhere.vectors(listed),
            everywhere.scores(model, pairs),
            everywhere.scores(model, pairs, 0.9),
        )
        assert found == expected


def test_a_must_not_link_judgement_blocks_the_link_and_the_review() -> None:
    a = feat("José González", "a", city="Madrid", birth_date="1980-03-12", postcode="28013")
    b = feat("Pepe Gonzalez", "b", city="Madrid", birth_date="1980-03-12", postcode="28013")
    model = _test_model()
    scored = score_pairs(model, [a, b], [(0, 1)])
    assert decide([a, b], [0, 1], scored, Thresholds()).links  # linked without a judgement
    apart = judged_apart_index([("a", "b")], {"a": 0, "b": 1})
    kept = decide([a, b], [0, 1], scored, Thresholds(), apart)
    assert kept.links == []
    assert kept.review == []  # a person decided: not proposed again
