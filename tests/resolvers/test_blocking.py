"""Blocking: which records the batch executor compares, kept in arrays."""

from __future__ import annotations

import numpy as np
import pytest

from resolvers import blocking
from resolvers.blocking import Pairs, candidate_pairs
from resolvers.features import Features, features


def feat(key: str, name: str | None, **identifiers: str) -> Features:
    return features(key, name, {}, list(identifiers.items()))


def _pairs(records: list[Features]) -> set[tuple[str, str]]:
    return {(records[i].key, records[j].key) for i, j in candidate_pairs(records)}


def test_a_handle_made_of_a_name_pairs_with_every_record_of_that_name() -> None:
    records = [
        feat("crm/1", "Carlos Francavilla"),
        feat("tw/1", None, twitter="cfrancavilla"),
        feat("crm/2", "Cristina Francavilla"),
        feat("call/1", "C. Francavilla"),
    ]
    found = _pairs(records)
    assert {("crm/1", "tw/1"), ("tw/1", "crm/2"), ("tw/1", "call/1")} <= found
    # An initial may be either of them; two full names that differ are not worth it.
    assert {("crm/1", "call/1"), ("crm/2", "call/1")} <= found
    assert ("crm/1", "crm/2") not in found


def test_records_sharing_a_key_pair_once_in_index_order() -> None:
    records = [feat(f"r/{i}", "Ana Ruiz", email=f"ana.ruiz{i % 2}@x.org") for i in range(40)]
    pairs = candidate_pairs(records)
    assert len(pairs) == 40 * 39 // 2  # no repeats
    listed = list(pairs)
    assert listed == sorted(set(listed))
    assert all(i < j for i, j in listed)


def test_pairs_slice_and_pick_like_a_sequence() -> None:
    pairs = Pairs.of([(0, 1), (0, 2), (1, 2)])
    assert list(pairs[1:]) == [(0, 2), (1, 2)]
    assert pairs.at([2, 0]) == [(1, 2), (0, 1)]
    assert len(pairs) == 3


def test_pairs_made_part_by_part_are_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    records = [feat(f"r/{i}", f"Ana Ruiz{i % 3}", email=f"a{i % 7}@x.org") for i in range(60)]
    records += [feat("tw/1", None, twitter="aruiz1"), feat("tw/2", None, twitter="aruiz2")]
    whole = candidate_pairs(records)
    monkeypatch.setattr(blocking, "_PAIRS_PER_PART", 7)  # many small parts
    assert list(candidate_pairs(records)) == list(whole)
    assert list(candidate_pairs(records, max_block=10)) != list(whole)  # blocks over 10 skipped


def test_pair_codes_are_deduplicated_as_numpy_does() -> None:
    codes = np.random.default_rng(7).integers(0, 500, size=5_000)
    assert np.array_equal(blocking._sorted_unique(codes.copy()), np.unique(codes))
    assert len(blocking._sorted_unique(np.empty(0, dtype=np.int64))) == 0


def _born(key: str, name: str | None) -> Features:
    return features(key, name, {"birth_date": "1980-05-17"}, [])


def test_a_birth_date_pairs_records_whose_names_share_an_initial() -> None:
    records = [
        _born("crm/1", "José González Pérez"),
        _born("call/1", "Pepe González"),  # a nickname: the surname's initial
        _born("crm/2", "Gonzalez Jose"),  # swapped: both initials, the other way round
        _born("web/1", "Ana Ruiz"),  # a stranger born the same day
        _born("hr/1", None),
        _born("hr/2", None),  # no names: only with each other
    ]
    found = _pairs(records)
    assert {("crm/1", "call/1"), ("crm/1", "crm/2"), ("call/1", "crm/2")} <= found
    assert ("hr/1", "hr/2") in found
    assert not any("web/1" in pair for pair in found)
    assert not any(a.startswith("hr/") != b.startswith("hr/") for a, b in found)


def test_a_house_pairs_its_residents_whose_names_share_an_initial() -> None:
    records = [
        features("crm/1", "Marie Dupont", {"postcode": "75011", "address": "12 rue Oberkampf"}, []),
        features("crm/2", "Marie Martin", {"postcode": "75011", "address": "12 r. Oberkampf"}, []),
        features("crm/3", "Luc Bernard", {"postcode": "75011", "address": "12 Oberkampf"}, []),
    ]
    found = _pairs(records)
    assert ("crm/1", "crm/2") in found  # married: the given name's initial
    assert not any("crm/3" in pair for pair in found)
