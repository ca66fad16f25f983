"""Deterministic resolution, as pure functions over records already loaded.

Rules:
- records that share a linking identifier (strong or medium, not generic)
  belong to one profile, transitively, and so do records a stored
  probabilistic link joins (the match model decided those, see
  `resolvers.probabilistic`);
- weak identifiers (IPs) and generic values never link;
- a profile keeps its id while it keeps the largest share of its records
  (lineage), so ids survive merges and splits; a profile that loses all its
  records redirects to the one that took most of them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from graph.model import Link, ProfileSummary, RecordRow

RULE_SEED = "seed"  # the first record of a profile: nothing else linked it
RULE_SHARED = "shared-identifier"
RULE_MATCHED = "probabilistic"  # a link the match model made (stored as MATCHED)


@dataclass(frozen=True)
class Cluster:
    """Records resolved as one person, each with the link that put it there."""

    records: tuple[RecordRow, ...]
    links: dict[str, tuple[str, str | None, str | None]]  # key -> (rule, via, via_record)


def clusters(records: Sequence[RecordRow]) -> list[Cluster]:
    """Connected components over shared linking identifiers, with a spanning tree
    of links grown from each component's oldest record (the explanation)."""
    by_key = {record.key: record for record in records}
    carriers: dict[str, list[str]] = defaultdict(list)
    partners: dict[str, set[str]] = defaultdict(set)  # probabilistic links, both ways
    for record in records:
        for identifier in record.linking_keys:
            carriers[identifier].append(record.key)
        for other in record.matched:
            if other in by_key:
                partners[record.key].add(other)
                partners[other].add(record.key)
    seen: set[str] = set()
    result = []
    for record in sorted(records, key=_age):
        if record.key in seen:
            continue
        links = _spanning_tree(record.key, by_key, carriers, partners)
        seen.update(links)
        members = tuple(sorted((by_key[k] for k in links), key=_age))
        result.append(Cluster(members, links))
    return result


def _age(record: RecordRow) -> tuple[str, str]:
    return (record.observed_at or "~", record.key)


def _spanning_tree(
    root: str,
    by_key: dict[str, RecordRow],
    carriers: dict[str, list[str]],
    partners: dict[str, set[str]],
) -> dict[str, tuple[str, str | None, str | None]]:
    """Breadth first; at each record its identifiers are followed before its
    probabilistic links."""
    links: dict[str, tuple[str, str | None, str | None]] = {root: (RULE_SEED, None, None)}
    frontier = [root]
    while frontier:
        current = frontier.pop(0)
        for identifier in by_key[current].linking_keys:
            for other in carriers[identifier]:
                if other not in links:
                    links[other] = (RULE_SHARED, identifier, current)
                    frontier.append(other)
        for other in sorted(partners.get(current, ())):
            if other not in links:
                links[other] = (RULE_MATCHED, None, current)
                frontier.append(other)
    return links


@dataclass(frozen=True)
class Assignment:
    """Which profile id each cluster gets, and what happened to the old ones."""

    profile_ids: list[str]  # parallel to the clusters
    created: list[str]
    retired: dict[str, str]  # old id -> id it redirects to


def assign_ids(found: Sequence[Cluster], mint: Callable[[], str]) -> Assignment:
    """Give each cluster the old id it shares most records with (each id once)."""
    overlaps = [
        (count, old_id, index)
        for index, cluster in enumerate(found)
        for old_id, count in Counter(r.profile_id for r in cluster.records if r.profile_id).items()
    ]
    # Most shared records first; the older (smaller) id wins a tie, for stability.
    overlaps.sort(key=lambda item: (-item[0], item[1], item[2]))
    ids: list[str | None] = [None] * len(found)
    taken: set[str] = set()
    for _, old_id, index in overlaps:
        if ids[index] is None and old_id not in taken:
            ids[index] = old_id
            taken.add(old_id)
    created = []
    for index, assigned in enumerate(ids):
        if assigned is None:
            ids[index] = mint()
            created.append(ids[index])
    final = [i for i in ids if i is not None]
    retired = _redirects(found, final, {old for _, old, _ in overlaps} - taken)
    return Assignment(final, [c for c in created if c is not None], retired)


def _redirects(found: Sequence[Cluster], ids: list[str], lost: set[str]) -> dict[str, str]:
    """Old ids that kept no cluster point to the cluster that took most of their records."""
    best: dict[str, tuple[int, str]] = {}
    for cluster, new_id in zip(found, ids, strict=True):
        for old_id, count in Counter(r.profile_id for r in cluster.records).items():
            if old_id in lost and count > best.get(old_id, (0, ""))[0]:
                best[old_id] = (count, new_id)
    return {old_id: new_id for old_id, (_, new_id) in best.items()}


def changed_links(
    found: Sequence[Cluster], ids: Sequence[str], previous: dict[str, Link]
) -> list[Link]:
    """The links that differ from what is stored (only those are rewritten)."""
    changed = []
    for cluster, profile_id in zip(found, ids, strict=True):
        for key, (rule, via, via_record) in cluster.links.items():
            link = Link(key, profile_id, rule, via, via_record)
            if previous.get(key) != link:
                changed.append(link)
    return changed


def summarise(
    cluster: Cluster, profile_id: str, source_rank: Callable[[str], int]
) -> ProfileSummary:
    """Derived profile fields. Display name survivorship: the name from the most
    trusted source (settings' source priority) wins; among equals, the newest."""
    newest_first = sorted(
        (r for r in cluster.records if r.name), key=lambda r: r.observed_at or "", reverse=True
    )
    # min() keeps the first of equals, so the newest name wins within a source rank.
    best = min(newest_first, key=lambda r: source_rank(r.source), default=None)
    kind = "employee" if any(r.kind == "employee" for r in cluster.records) else "customer"
    return ProfileSummary(profile_id, kind, best.name if best else None, len(cluster.records))
