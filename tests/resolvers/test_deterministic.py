"""Clustering and id lineage, as pure functions."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import replace
from itertools import count

import numpy as np
from ulid import ULID

from graph.model import Judgement, Link, ProfileSummary, RecordRow
from resolvers.deterministic import (
    Cluster,
    Clustering,
    assign_ids,
    changed_links,
    cluster_members,
    clusters,
    summarise,
)
from resolvers.online import mint_profile_ids, ulid_texts


def row(key: str, *ids: str, profile: str | None = None, at: str | None = None) -> RecordRow:
    return RecordRow(key, "crm", "customer", None, at, profile, tuple(ids))


def minted() -> Callable[[int], list[str]]:
    numbers = count(1)
    return lambda n: [f"new-{next(numbers)}" for _ in range(n)]


def test_components_are_transitive_and_explained() -> None:
    found = clusters([row("a", "e:1"), row("b", "e:1", "p:2"), row("c", "p:2"), row("d", "e:9")])
    assert sorted(sorted(c.links) for c in found) == [["a", "b", "c"], ["d"]]
    abc = next(c for c in found if "a" in c.links)
    assert abc.links["a"] == ("seed", None, None)
    assert abc.links["c"] == ("shared-identifier", "p:2", "b")


def test_cluster_members_are_the_clusters_records() -> None:
    rows = [row("a", "e:1"), row("b", "e:1", "p:2"), row("c", "p:2"), row("d", "e:9"), row("e")]
    members = sorted(sorted(m) for m in cluster_members(rows))
    assert members == [["a", "b", "c"], ["d"], ["e"]]
    assert members == sorted(sorted(r.key for r in c.records) for c in clusters(rows))


def test_the_oldest_record_seeds_the_profile() -> None:
    found = clusters([row("b", "e:1", at="2026-02-01"), row("a", "e:1", at="2026-03-01")])
    assert found[0].links["b"][0] == "seed"


def test_a_record_joining_a_profile_rewrites_no_other_link() -> None:
    # "b" seeded P1 (records without a time sort by key, so "a" would otherwise).
    stored = [
        RecordRow("b", "crm", "customer", None, None, "P1", ("e:1",), Link("b", "P1", "seed")),
        RecordRow("c", "crm", "customer", None, None, "P1", ("e:1",),
                  Link("c", "P1", "shared-identifier", "e:1", "b")),
    ]  # fmt: skip
    found = clusters([*stored, row("a", "e:1")])
    assert found[0].links["b"] == ("seed", None, None)
    previous = {r.key: r.link for r in stored if r.link}
    assert changed_links(found, ["P1"], previous) == [
        Link("a", "P1", "shared-identifier", "e:1", "b")
    ]


def test_a_merge_keeps_the_id_with_most_records_and_redirects_the_other() -> None:
    rows = [row("a", "e:1", profile="P1"), row("b", "e:1", profile="P1"),
            row("c", "e:1", profile="P2")]  # fmt: skip
    assignment = assign_ids(clusters(rows), minted())
    assert assignment.profile_ids == ["P1"]
    assert assignment.retired == {"P2": "P1"}
    assert assignment.created == []


def test_a_split_keeps_the_id_on_the_larger_part_and_mints_one() -> None:
    rows = [row("a", "e:1", profile="P1"), row("b", "e:1", profile="P1"),
            row("c", "e:2", profile="P1")]  # fmt: skip
    assignment = assign_ids(clusters(rows), minted())
    assert sorted(assignment.profile_ids) == ["P1", "new-1"]
    assert assignment.created == ["new-1"]
    assert assignment.retired == {}


def test_profile_ids_are_ulids_of_now_each_new() -> None:
    before = time.time()
    ids = mint_profile_ids(5000)
    assert len(set(ids)) == 5000
    assert ids == sorted(ids)  # the older wins a tie in `assign_ids`: the first minted
    for text in ids[:50]:
        assert before - 0.01 <= ULID.from_str(text).timestamp <= time.time() + 0.01
    assert mint_profile_ids(0) == []


def test_ulids_are_written_as_the_library_writes_them() -> None:
    raw = np.frombuffer(os.urandom(16 * 300), dtype=np.uint8).reshape(300, 16).copy()
    raw[0], raw[1] = 0, 255  # the smallest and the largest
    assert ulid_texts(raw) == [str(ULID(row.tobytes())) for row in raw]


def test_clusters_joined_after_the_deterministic_ones_are_the_same() -> None:
    """The batch executor starts from the deterministic clusters and joins its
    probabilistic links to them afterwards (`Clustering`), with the result of
    clustering records that carry the links (judgements, leases and a link a
    judgement refuses included)."""
    judged = [
        Judgement("j1", "a", "c", "different", "steward", "2026-01-01T00:00:00Z"),
        Judgement("j2", "d", "e", "same", "steward", "2026-01-01T00:00:00Z"),
    ]
    plain = [
        row("a", "e:1"), row("b", "e:1", "p:2"), row("c", "p:7"), row("d"), row("e"),
        row("f", "account:9"), replace(row("g"), leased=("account:9",)), row("h"), row("i"),
    ]  # fmt: skip
    matched = {"c": ("b",), "h": ("d",), "i": ("h",)}  # c-b refused: a and c judged apart
    linked = [replace(r, matched=matched.get(r.key, ())) for r in plain]
    clustering = Clustering(plain, judged)
    assert sorted(map(sorted, clustering.members())) == sorted(
        map(sorted, cluster_members(plain, judged))
    )
    found = clustering.clusters((key, other) for key, others in matched.items() for other in others)
    assert [([r.key for r in c.records], c.links) for c in found] == [
        ([r.key for r in c.records], c.links) for c in clusters(linked, judged)
    ]
    assert sorted(sorted(r.key for r in c.records) for c in found) == [
        ["a", "b"], ["c"], ["d", "e", "h", "i"], ["f", "g"],
    ]  # fmt: skip


def test_links_joined_in_any_order_without_judgements_make_the_same_clusters() -> None:
    """With no judgement to refuse a join, the links are joined unsorted."""
    plain = [row(f"r{i:02d}", f"e:{i // 3}") for i in range(30)]
    matched = {"r00": ("r29", "r14"), "r17": ("r03",), "r28": ("r05", "r00"), "r11": ("r26",)}
    linked = [replace(r, matched=matched.get(r.key, ())) for r in plain]
    pairs = [(key, other) for key, others in reversed(matched.items()) for other in others]
    found = Clustering(plain).clusters(pairs)
    expected = clusters(linked)

    def keys(found: list[Cluster]) -> list[tuple[list[str], object]]:
        return [([r.key for r in c.records], c.links) for c in found]

    assert keys(found) == keys(expected)
    assert len(found) == 5  # ten by email, five of them joined by links, two by one


def test_the_display_name_comes_from_the_most_trusted_source_then_the_newest() -> None:
    def named(key: str, source: str, name: str | None, at: str | None) -> RecordRow:
        return replace(row(key, at=at), source=source, name=name)

    rank = {"crm": 0, "helpdesk": 1}.__getitem__
    members = [
        named("a", "helpdesk", "Newest Helpdesk", "2026-03-01"),
        named("b", "crm", "Old Crm", "2026-01-01"),
        named("c", "crm", "New Crm", "2026-02-01"),
        named("d", "crm", "Tied Crm", "2026-02-01"),  # as new as c: c came first
        named("e", "crm", None, "2026-04-01"),  # no name: no say
        named("f", "crm", "Undated Crm", None),
    ]
    cluster = Cluster(tuple(members), {})
    assert summarise(cluster, "p", rank) == ProfileSummary("p", "customer", "New Crm", 6)
    nameless = Cluster((members[4],), {})
    assert summarise(nameless, "p", rank).display_name is None
    helpdesk_only = Cluster((members[0], members[4]), {})
    assert summarise(helpdesk_only, "p", rank).display_name == "Newest Helpdesk"
