"""Clustering and id lineage, as pure functions."""

from __future__ import annotations

from collections.abc import Callable
from itertools import count

from graph.model import Link, RecordRow
from resolvers.deterministic import assign_ids, changed_links, cluster_members, clusters


def row(key: str, *ids: str, profile: str | None = None, at: str | None = None) -> RecordRow:
    return RecordRow(key, "crm", "customer", None, at, profile, tuple(ids))


def minted() -> Callable[[], str]:
    numbers = count(1)
    return lambda: f"new-{next(numbers)}"


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
