"""Deterministic resolution, as pure functions over records already loaded.

Rules:
- records that share a linking identifier (strong or medium, not generic)
  belong to one profile, transitively, and so do records a stored
  probabilistic link joins (the match model decided those, see
  `resolvers.probabilistic`);
- weak identifiers (IPs) and generic values never link, except that a record
  seen on an IP leased to one account then (`resolvers.leases`) joins that
  account's records, unless its own records carry another account or names of
  another person (a household shares the connection);
- a person's judgements in force are obeyed: "same" joins two records,
  "different" keeps them apart whatever they share;
- a profile keeps its id while it keeps the largest share of its records
  (lineage), so ids survive merges and splits; a profile that loses all its
  records redirects to the one that took most of them.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from graph.model import Judgement, Link, ProfileSummary, RecordRow, quick_init
from resolvers.names import may_be_same_person

RULE_SEED = "seed"  # the first record of a profile: nothing else linked it
RULE_SHARED = "shared-identifier"
RULE_LEASE = "ip-lease"  # seen on an IP an authoritative source leased to an account
RULE_MATCHED = "probabilistic"  # a link the match model made (stored as MATCHED)
RULE_STEWARD = "steward"  # a person judged the two records the same
_SEEDED = (RULE_SEED, None, None)  # the link of a cluster's seed


@quick_init
@dataclass(frozen=True, slots=True)
class Cluster:
    """Records resolved as one person, each with the link that put it there."""

    records: tuple[RecordRow, ...]
    links: dict[str, tuple[str, str | None, str | None]]  # key -> (rule, via, via_record)


def clusters(records: Sequence[RecordRow], judgements: Iterable[Judgement] = ()) -> list[Cluster]:
    """Records joined by what links them, with a spanning tree of links (the
    explanation) grown from each cluster's seed: the record that seeded it
    before, so a record joining a profile adds its own link and rewrites no
    other; the oldest record for a new cluster.

    Joins are made strongest first: records a person judged the same, then
    shared linking identifiers, then IP leases, then probabilistic links. A
    join that would put two records a person judged different into one cluster
    is not made, so a steward's split holds even against a shared email.
    """
    return Clustering(records, judgements).clusters()


def cluster_members(
    records: Sequence[RecordRow], judgements: Iterable[Judgement] = ()
) -> list[set[str]]:
    """The record keys of each of `clusters`' clusters, without their links."""
    return Clustering(records, judgements).members()


class Clustering:
    """`clusters` in two steps, for the batch executor: the clusters of the
    records as they are (`members`: where it starts), then with the
    probabilistic links it decided (`clusters`), joined to the same groups
    without making them and their indexes again (6 s a million records)."""

    def __init__(self, records: Sequence[RecordRow], judgements: Iterable[Judgement] = ()) -> None:
        self._by_key = {record.key: record for record in records}
        self._same, apart = _judged(judgements, self._by_key)
        by_age = sorted(records, key=_age)
        # Each record's place by age, which orders the records of a cluster and
        # the clusters: sorting by it took a third of the time sorting by age did.
        # Of a key given twice, the record kept (the last) gives the place.
        by_key = self._by_key
        self._rank = {r.key: place for place, r in enumerate(by_age) if by_key[r.key] is r}
        self._ways = _Ways.of(by_age, self._by_key)
        self._groups = _Groups(self._by_key, apart)
        _join_deterministic(self._groups, self._ways, self._same)
        _join_partners(self._groups, self._ways.partners)

    def members(self) -> list[set[str]]:
        return self._groups.components()

    def clusters(self, links: Iterable[tuple[str, str]] = ()) -> list[Cluster]:
        """The clusters, with these probabilistic links between records joined
        too (`join_links`), in `ordered_groups`' order."""
        self.join_links(links)
        return [self.cluster_of(keys) for keys in self.ordered_groups()]

    def join_links(self, links: Iterable[tuple[str, str]]) -> None:
        """Join these probabilistic links between records too (as if the
        records carried them; a link to another record is left out); once: it
        joins the groups, which `members` then shows."""
        added: dict[str, set[str]] = defaultdict(set)
        for a, b in links:
            if a not in self._by_key or b not in self._by_key:
                continue
            added[a].add(b)
            added[b].add(a)
        for key, others in added.items():
            self._ways.partners[key] |= others
        if self._groups.refuses:
            _join_partners(self._groups, added)
        else:  # every join is made: in any order, the same groups (sorting took a second)
            for key, others in added.items():
                for other in others:
                    self._groups.join(key, other)

    def ordered_groups(self) -> list[list[str]]:
        """Each group's keys, oldest record first; the groups in the order of
        their oldest records (the order of the clusters)."""
        rank = self._rank
        ordered, first = [], []  # the groups, and the place of each one's oldest record
        for key, members in self._groups.groups():
            if members is None:  # most: alone
                ordered.append([key])
                first.append(rank[key])
            else:
                keys = sorted(members, key=rank.__getitem__)
                ordered.append(keys)
                first.append(rank[keys[0]])
        return [ordered[i] for i in sorted(range(len(ordered)), key=first.__getitem__)]

    def cluster_of(self, keys: Sequence[str]) -> Cluster:
        """The cluster of one of `ordered_groups`' groups, with its spanning tree."""
        by_key = self._by_key
        if len(keys) == 1:  # most: its own seed
            return Cluster((by_key[keys[0]],), {keys[0]: _SEEDED})
        ordered = tuple(map(by_key.__getitem__, keys))
        seeds = [r.key for r in ordered if r.link and r.link.rule == RULE_SEED]
        root = seeds[0] if seeds else keys[0]  # of merged profiles, the oldest seed
        tree = _spanning_tree(root, set(keys), by_key=by_key, ways=self._ways, same=self._same)
        return Cluster(ordered, tree)


def _join_partners(groups: _Groups, partners: Mapping[str, set[str]]) -> None:
    """The probabilistic links' joins, in a fixed order."""
    for key in sorted(partners):
        for other in sorted(partners[key]):
            groups.join(key, other)


def _join_deterministic(groups: _Groups, ways: _Ways, same: dict[str, set[str]]) -> None:
    """The joins before the probabilistic links: judged the same, shared
    identifiers, IP leases."""
    for key in sorted(same):
        for other in sorted(same[key]):
            groups.join(key, other)
    # An identifier one record carries joins nothing: most of a million's.
    shared = sorted(key for key, carriers in ways.carriers.items() if len(carriers) > 1)
    for identifier in shared:
        groups.join_all(ways.carriers[identifier])
    for account in sorted(ways.tenants):
        holders = ways.carriers.get(account, [])
        for key in ways.tenants[account] if holders else ():
            groups.join_lease(key, holders[0], account)


@dataclass
class _Ways:
    """What may join records, indexed: who carries each linking identifier, who
    is leased to each account, and the probabilistic links (both ways)."""

    carriers: dict[str, list[str]]
    tenants: dict[str, list[str]]
    partners: dict[str, set[str]]

    @staticmethod
    def of(by_age: Sequence[RecordRow], by_key: dict[str, RecordRow]) -> _Ways:
        """`by_age`: the records, oldest first (`_age`)."""
        ways = _Ways(defaultdict(list), defaultdict(list), defaultdict(set))
        for record in by_age:
            for identifier in record.linking_keys:
                ways.carriers[identifier].append(record.key)
            for account in record.leased:
                ways.tenants[account].append(record.key)
            for other in record.matched:
                if other in by_key:
                    ways.partners[record.key].add(other)
                    ways.partners[other].add(record.key)
        return ways


def _judged(
    judgements: Iterable[Judgement], by_key: dict[str, RecordRow]
) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Judgements in force between the given records: same and different, both ways."""
    same: dict[str, set[str]] = defaultdict(set)
    apart: dict[str, set[str]] = defaultdict(set)
    for judgement in judgements:
        if judgement.left in by_key and judgement.right in by_key:
            target = {"same": same, "different": apart}.get(judgement.decision)
            if target is not None:
                target[judgement.left].add(judgement.right)
                target[judgement.right].add(judgement.left)
    return same, apart


class _Groups:
    """Union-find over record keys that refuses a join across a 'different'.
    Most records of a million stay alone: a group of one has no entry under
    `_parent` and no list of members (None), which took 2 s to make."""

    def __init__(self, by_key: dict[str, RecordRow], apart: dict[str, set[str]]) -> None:
        self._by_key = by_key
        self._parent: dict[str, str] = {}  # of each key joined under another
        # Per group's root, in the order of the keys: its keys, None for itself alone.
        self._members: dict[str, list[str] | None] = dict.fromkeys(by_key)
        self._apart = apart
        self.refuses = bool(apart)  # a join may be refused: the order of joins matters

    def find(self, key: str) -> str:
        parent = self._parent
        root = key
        while (up := parent.get(root)) is not None:
            root = up
        while key != root:  # path compression
            parent[key], key = root, parent[key]
        return root

    def join(self, a: str, b: str) -> bool:
        """Join the groups of a and b unless a person judged two of their records different."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        members = self._members
        in_a, in_b = members[ra], members[rb]  # None: alone
        size_a, size_b = len(in_a) if in_a else 1, len(in_b) if in_b else 1
        small, big = (rb, ra) if size_b < size_a else (ra, rb)
        if self._apart and any(
            self.find(other) == big for key in self._of(small) for other in self._apart.get(key, ())
        ):
            return False
        self._parent[small] = big
        group = members[big]
        if group is None:
            group = members[big] = [big]
        group.extend(members.pop(small) or [small])
        return True

    def _of(self, root: str) -> list[str]:
        return self._members[root] or [root]

    def join_lease(self, key: str, holder: str, account: str) -> bool:
        """Join a record leased to `account` to a record carrying it, unless the
        record's group shows someone else: another account, or only names that
        cannot be the holder's group's people."""
        tenant, home = self.find(key), self.find(holder)
        if tenant == home:
            return True
        kind = account.split(":", 1)[0] + ":"
        carried = (k for m in self._of(tenant) for k in self._by_key[m].linking_keys)
        if any(k.startswith(kind) and k != account for k in carried):
            return False
        names, home_names = self._names(tenant), self._names(home)
        strangers = not any(may_be_same_person(a, b) for a in names for b in home_names)
        if names and home_names and strangers:
            return False
        return self.join(key, holder)

    def _names(self, root: str) -> list[str]:
        return [name for k in self._of(root) if (name := self._by_key[k].name)]

    def join_all(self, keys: Sequence[str]) -> None:
        """Join records sharing a value: each to the first earlier group that accepts it."""
        if not self.refuses:  # every join is made: the same joins, without the roots' list
            for key in keys[1:]:
                self.join(keys[0], key)
            return
        roots: list[str] = []
        for key in keys:
            if not any(self.join(root, key) for root in roots):
                roots.append(self.find(key))
            roots = list(dict.fromkeys(self.find(root) for root in roots))

    def components(self) -> list[set[str]]:
        return [{root} if keys is None else set(keys) for root, keys in self.groups()]

    def groups(self) -> Iterable[tuple[str, list[str] | None]]:
        """Each group's root and its keys (None: the root alone), in the order
        of the roots' keys (not to be changed)."""
        return self._members.items()


def _age(record: RecordRow) -> tuple[str, str]:
    return (record.observed_at or "~", record.key)


def _spanning_tree(
    root: str,
    members: set[str],
    *,
    by_key: dict[str, RecordRow],
    ways: _Ways,
    same: dict[str, set[str]],
) -> dict[str, tuple[str, str | None, str | None]]:
    """Breadth first within the cluster; at each record its identifiers are
    followed first, then the stewards' judgements, then IP leases (both ways),
    then probabilistic links."""
    links: dict[str, tuple[str, str | None, str | None]] = {root: _SEEDED}
    frontier = deque([root])

    def reach(others: Iterable[str], link: tuple[str, str | None, str | None]) -> None:
        for other in others:
            if other not in links and other in members:
                links[other] = link
                frontier.append(other)

    carriers, tenants, partners = ways.carriers, ways.tenants, ways.partners
    while frontier:
        current = frontier.popleft()
        record = by_key[current]
        for identifier in record.linking_keys:
            reach(carriers[identifier], (RULE_SHARED, identifier, current))
        if current in same:
            reach(sorted(same[current]), (RULE_STEWARD, None, current))
        for account in record.linking_keys if tenants else ():
            reach(tenants.get(account, ()), (RULE_LEASE, account, current))
        for account in record.leased:
            reach(carriers.get(account, ()), (RULE_LEASE, account, current))
        if current in partners:
            reach(sorted(partners[current]), (RULE_MATCHED, None, current))
    return links


@dataclass(frozen=True)
class Assignment:
    """Which profile id each cluster gets, and what happened to the old ones."""

    profile_ids: list[str]  # parallel to the clusters
    created: list[str]
    retired: dict[str, str]  # old id -> id it redirects to


def assign_ids(
    found: Sequence[Cluster],
    mint: Callable[[int], list[str]],
    claims: Mapping[str, str | None] | None = None,
) -> Assignment:
    """Give each cluster the old id it shares most records with (each id once);
    `mint(n)` makes n new ones for the others.

    `claims` overrides, per record key, which id a record counts for (None: none):
    a steward's merge keeps the chosen id, a split mints one for the records
    moved out, an undo gives the old ids back.
    """
    claims = claims or {}
    if not claims and not any(r.profile_id for cluster in found for r in cluster.records):
        created = mint(len(found))  # a first resolution: every cluster is new
        return Assignment(created, list(created), {})

    def claimed(record: RecordRow) -> str | None:
        return claims.get(record.key, record.profile_id)

    overlaps = []
    for index, cluster in enumerate(found):
        old_ids = [claimed(r) for r in cluster.records]
        if any(old_ids):  # most clusters of a first resolution have none
            counted = Counter(old_id for old_id in old_ids if old_id)
            overlaps += [(count, old_id, index) for old_id, count in counted.items()]
    # Most shared records first; the older (smaller) id wins a tie, for stability.
    overlaps.sort(key=lambda item: (-item[0], item[1], item[2]))
    ids: list[str | None] = [None] * len(found)
    taken: set[str] = set()
    for _, old_id, index in overlaps:
        if ids[index] is None and old_id not in taken:
            ids[index] = old_id
            taken.add(old_id)
    unassigned = [index for index, assigned in enumerate(ids) if assigned is None]
    created = mint(len(unassigned))
    for index, new_id in zip(unassigned, created, strict=True):
        ids[index] = new_id
    final = [i for i in ids if i is not None]
    stored = {r.profile_id for cluster in found for r in cluster.records if r.profile_id}
    lost = (stored | {old for _, old, _ in overlaps}) - taken
    retired = _redirects(found, final, lost)
    return Assignment(final, created, retired)


def _redirects(found: Sequence[Cluster], ids: list[str], lost: set[str]) -> dict[str, str]:
    """Old ids that kept no cluster point to the cluster that took most of their
    records (as stored before this resolution)."""
    if not lost:  # a first resolution, and most others
        return {}
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
    return [link for link in cluster_links(found, ids) if previous.get(link.record) != link]


def cluster_links(found: Sequence[Cluster], ids: Sequence[str]) -> list[Link]:
    """Each record's link to its cluster's profile (`ids`: the clusters')."""
    return [
        Link(key, profile_id, *how)
        for cluster, profile_id in zip(found, ids, strict=True)
        for key, how in cluster.links.items()
    ]


def summarise(
    cluster: Cluster, profile_id: str, source_rank: Callable[[str], int]
) -> ProfileSummary:
    """Derived profile fields. Display name survivorship: the name from the most
    trusted source (settings' source priority) wins; among equals, the newest."""
    if len(cluster.records) == 1:  # most profiles
        (record,) = cluster.records
        kind = "employee" if record.kind == "employee" else "customer"
        return ProfileSummary(profile_id, kind, record.name or None, 1)
    best, best_rank = None, 0  # of equals, the first record keeps it
    for record in cluster.records:
        if record.name:
            rank = source_rank(record.source)
            newer = (record.observed_at or "") > (best.observed_at or "") if best else True
            if best is None or rank < best_rank or (rank == best_rank and newer):
                best, best_rank = record, rank
    kind = "employee" if any(r.kind == "employee" for r in cluster.records) else "customer"
    return ProfileSummary(profile_id, kind, best.name if best else None, len(cluster.records))
