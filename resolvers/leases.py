"""IP sightings attributed to an account by a source authoritative for IPs.

An IP is weak evidence: households, offices and carrier-grade NAT share one.
But some sources say who held an IP at a moment: an ISP's lease (RADIUS,
DHCP) log, a login log tied to an account. The operator declares them
(`DIRECTORY_IP_AUTHORITATIVE_SOURCES`). A record carrying no account of its
own, seen on an IP within the window (`DIRECTORY_IP_WINDOW_HOURS`) of such a
sighting, is attributed to that sighting's account, and resolution links it
deterministically (rule "ip-lease"), when within its window the IP was seen
with exactly one account, from any source: a second account there means a
shared connection (NAT, or a household where two people log in), and the IP
stays weak evidence.

Attributions are stored in the graph as `(record)-[:LEASED]->(account
identifier)` edges and recomputed, at ingest, for every record near a new
sighting in time: a lease that arrives after the tweet still claims it. Only
IPs an authoritative source saw are looked at (marked `leased` when its
record is ingested), so the thousands of sightings of a carrier's NAT address
cost nothing; a source declared authoritative later counts from its records'
next ingest.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from graph.model import IpSighting, LeaseEdge
from graph.store import GraphWriter
from resolvers.model import Record, utc_text


@dataclass(frozen=True)
class LeaseUpdate:
    """What an ingest batch changed: each affected record's account (if any),
    and the profiles of stored records whose attribution changed."""

    accounts: dict[str, str]  # record key -> account identifier key
    profiles: set[str]


def attribute(sightings: Iterable[IpSighting], window: timedelta) -> dict[str, LeaseEdge]:
    """The account each record without one is attributed to (see the module)."""
    by_ip: dict[str, list[IpSighting]] = defaultdict(list)
    for sighting in {(s.record, s.ip, s.seen_at): s for s in sightings}.values():
        by_ip[sighting.ip].append(sighting)
    found: dict[str, set[LeaseEdge]] = defaultdict(set)
    for seen in by_ip.values():
        seen.sort(key=lambda s: s.seen_at)
        times = [_moment(s.seen_at) for s in seen]
        for index, sighting in enumerate(seen):
            if sighting.accounts:
                continue
            edge = _lease(sighting, _near(seen, times, index, window), times[index])
            if edge is not None:
                found[sighting.record].add(edge)
    # A record on two IPs leased to two accounts is attributed to neither.
    return {key: next(iter(edges)) for key, edges in found.items()
            if len({e.account for e in edges}) == 1}  # fmt: skip


def _near(
    seen: Sequence[IpSighting], times: Sequence[datetime], index: int, window: timedelta
) -> list[IpSighting]:
    lo = bisect.bisect_left(times, times[index] - window)
    hi = bisect.bisect_right(times, times[index] + window)
    return [seen[i] for i in range(lo, hi) if seen[i].record != seen[index].record]


def _lease(sighting: IpSighting, near: Sequence[IpSighting], at: datetime) -> LeaseEdge | None:
    accounts = {account for other in near for account in other.accounts}
    leases = [other for other in near if other.authoritative and other.accounts]
    if len(accounts) != 1 or not leases:
        return None
    nearest = min(leases, key=lambda other: (abs(_moment(other.seen_at) - at), other.record))
    return LeaseEdge(sighting.record, accounts.pop(), sighting.ip, sighting.seen_at,
                     nearest.record, nearest.seen_at)  # fmt: skip


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def update_leases(
    writer: GraphWriter,
    records: Sequence[Record],
    *,
    authoritative: Sequence[str],
    window: timedelta,
) -> LeaseUpdate:
    """Recompute the attributions of every record seen on the batch's IPs near
    the batch's sightings in time, store those that changed, and say which."""
    seen = [(r.source, i.key, i.seen_at) for r in records for i in r.identifiers
            if i.type == "ip" and i.seen_at is not None]  # fmt: skip
    if not seen or not authoritative:
        return LeaseUpdate({}, set())
    if leased := {ip for source, ip, _ in seen if source in authoritative}:
        writer.mark_leased(sorted(leased))
    times: dict[str, list[datetime]] = defaultdict(list)  # the batch's sightings, by IP
    for _, ip, at in seen:
        times[ip].append(at)
    # The affected records are within one window of a new sighting; their own
    # windows reach one more.
    sightings = writer.ip_sightings(
        [(ip, utc_text(min(at) - 2 * window), utc_text(max(at) + 2 * window))
         for ip, at in sorted(times.items())],
        authoritative=authoritative,
    )  # fmt: skip
    affected = {
        s.record for s in sightings
        if any(abs(_moment(s.seen_at) - at) <= window for at in times[s.ip])
    }  # fmt: skip
    found = {key: edge for key, edge in attribute(sightings, window).items() if key in affected}
    stored = writer.leases_of(sorted(affected))
    changed = sorted(k for k in affected if _account(found.get(k)) != stored.get(k))
    if changed:
        writer.set_leases(changed, [found[k] for k in changed if k in found])
    batch = {r.key for r in records}
    moved = [k for k in changed if k not in batch]
    profiles = set(writer.record_profiles(moved).values()) if moved else set()
    return LeaseUpdate({k: e.account for k, e in found.items()}, profiles)


def _account(edge: LeaseEdge | None) -> str | None:
    return edge.account if edge else None
