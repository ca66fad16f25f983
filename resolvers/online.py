"""Resolve what a batch of records touched, against the graph.

Invariant: after each batch, every two records that share a linking identifier
(strong or medium, not generic) sit in one profile, and no profile holds two
records that nothing links. Only the profiles near the batch are re-clustered:
the batch's own, those of records sharing its identifiers, and those of records
carrying a value whose generic status just changed.
"""

from __future__ import annotations

import logging
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from graph.model import IdentifierUsage, RecordRow
from graph.store import GraphWriter
from resolvers.deterministic import Cluster, assign_ids, changed_links, clusters, summarise
from resolvers.model import utc_now
from resolvers.names import count_people

log = logging.getLogger("resolvers")

# Held by whoever writes profiles (ingest batches, the batch resolver).
RESOLUTION_LOCK = "resolution"

# Names sampled per identifier to count the people on it: enough to see that a
# value is shared, bounded so a very common value costs the same as a rare one.
NAMES_SAMPLED = 64


@dataclass
class ResolutionOutcome:
    """What one resolution changed among profiles."""

    profiles_created: int = 0
    profiles_merged: int = 0
    profiles_split: int = 0
    generic_marked: int = 0


def mint_profile_ids(count: int) -> list[str]:
    """`count` new, time-ordered, never reused profile ids, in increasing order
    (the first is the oldest, as the library's one by one): ULIDs of this
    millisecond and 80 random bits, encoded all at once. One at a time, the
    library took 3 s for a million records' profiles. Sorted as numbers,
    before they are written: sorting the texts took a third of the time."""
    stamp = np.frombuffer((time.time_ns() // 1_000_000).to_bytes(6, "big"), dtype=np.uint8)
    random = np.frombuffer(os.urandom(10 * count), dtype=np.uint8).reshape(count, 10)
    high = random[:, :8].copy().view(">u8").ravel()  # the 80 bits as two numbers
    low = random[:, 8:].copy().view(">u2").ravel()
    ordered = random[np.lexsort((low, high))]
    return ulid_texts(np.hstack([np.broadcast_to(stamp, (count, 6)), ordered]))


def ulid_texts(raw: npt.NDArray[np.uint8]) -> list[str]:
    """ULIDs of 16 bytes each (rows of `raw`) as text (Crockford's base 32)."""
    count = len(raw)
    # 128 bits, 2 zero bits before them: 26 digits of 5 bits, the first below 8.
    bits = np.hstack([np.zeros((count, 2), dtype=np.uint8), np.unpackbits(raw, axis=1)])
    digits = bits.reshape(count, 26, 5) @ _FIVE_BITS
    text: list[str] = _CROCKFORD[digits].view("S26").ravel().astype("U26").tolist()
    return text


_CROCKFORD = np.frombuffer(b"0123456789ABCDEFGHJKMNPQRSTVWXYZ", dtype=np.uint8)
_FIVE_BITS = np.array([16, 8, 4, 2, 1], dtype=np.uint8)


@dataclass(frozen=True)
class SharedValues:
    """What re-counting the people on a batch's identifiers found."""

    changed: set[str]  # generic status flipped
    generic: dict[str, int]  # generic now: the people seen on each
    shared: set[str]  # carried by two records or more
    to_store: dict[str, tuple[bool, int]]  # generic status and people, where either changed


def update_generic(
    writer: GraphWriter, identifier_keys: Iterable[str], threshold: int
) -> SharedValues:
    """Re-count the people on each identifier and store which ones are generic."""
    keys = list(identifier_keys)
    return store_generic(writer, writer.identifier_usage(keys, NAMES_SAMPLED) if keys else [],
                         threshold)  # fmt: skip


def store_generic(
    writer: GraphWriter, usages: Iterable[IdentifierUsage], threshold: int
) -> SharedValues:
    """Count the people on each identifier from who carries it (`usages`) and
    store which ones are generic, with their people."""
    found = count_generic(usages, threshold)
    save_generic(writer, found)
    return found


def count_generic(usages: Iterable[IdentifierUsage], threshold: int) -> SharedValues:
    """`store_generic`'s counting, without the graph."""
    found = SharedValues(set(), {}, set(), {})
    for usage in usages:
        people = count_people(usage.names)
        generic = people > threshold
        if generic:
            found.generic[usage.key] = people
        if usage.records > 1:
            found.shared.add(usage.key)
        if generic != usage.generic:
            found.to_store[usage.key] = (generic, people)
            found.changed.add(usage.key)
        elif generic and people != usage.people:  # still generic, by more people or fewer
            found.to_store[usage.key] = (generic, people)
    return found


def save_generic(writer: GraphWriter, found: SharedValues) -> None:
    """Store what `count_generic` found changed."""
    if found.changed:
        flipped = sorted(found.changed)
        log.info("generic status changed for %d identifiers: %s", len(flipped), flipped[:5])
    if found.to_store:
        writer.set_generic(found.to_store)


def resolve(
    writer: GraphWriter,
    *,
    batch: Sequence[RecordRow],
    identifier_keys: Iterable[str],
    generic_threshold: int,
    source_rank: Callable[[str], int],
    near_profiles: Iterable[str] = (),
    claims: Mapping[str, str | None] | None = None,
    mint: Callable[[int], list[str]] = mint_profile_ids,
    judgements_exist: bool | None = None,
    read_whole: Mapping[str, Sequence[RecordRow]] | None = None,
) -> ResolutionOutcome:
    """Re-cluster the neighbourhood of a just-written batch and write the result.

    `batch` rows carry every linking-strength identifier of each record, and the
    profile each record had before; generic identifiers are dropped here, once
    their status has been re-counted. The neighbourhood: the batch's own
    profiles, those of records sharing its linking identifiers (or carrying an
    account its records are leased to), those of records carrying a value
    whose generic status changed, and `near_profiles`
    (those a new probabilistic link or a steward's action joins the batch to).
    The judgements in force among these records are obeyed (`judgements_exist`:
    whether the graph has any, when the caller knows); `claims` says which
    profile id a record counts for (see `assign_ids`); `read_whole`: profiles
    the caller has read whole already (id -> its records' rows), not read again.
    """
    identifier_keys, near_profiles = list(identifier_keys), set(near_profiles)
    if not (batch or identifier_keys or near_profiles):
        return ResolutionOutcome()
    values = update_generic(writer, identifier_keys, generic_threshold)
    linking_shared = (values.shared - values.generic.keys()) | values.changed
    linking_shared |= {account for row in batch for account in row.leased}
    near = writer.profiles_carrying(sorted(linking_shared)) if linking_shared else set()
    near |= {row.profile_id for row in batch if row.profile_id} | set(near_profiles)
    in_batch = {row.key for row in batch}
    known = read_whole or {}
    unread = sorted(near - known.keys())
    near_rows = [row for pid in sorted(near & known.keys()) for row in known[pid]]
    near_rows += writer.profiles_for_resolution(unread) if unread else []
    others = sorted((r for r in near_rows if r.key not in in_batch), key=lambda row: row.key)
    log.debug("resolving %d records (%d near the batch)", len(batch) + len(others), len(others))
    rows = [_without(row, values.generic.keys()) for row in batch] + others
    # New records carry no judgements, and most graphs have none at all.
    stored = [row.key for row in rows if row.profile_id]
    if judgements_exist is None and stored:
        judgements_exist = writer.any_judgements()
    judged = writer.current_judgements(stored) if stored and judgements_exist else ()
    found = clusters(rows, judged)
    assignment = assign_ids(found, mint, claims)
    previous = {row.key: row.link for row in rows if row.link is not None}
    links = changed_links(found, assignment.profile_ids, previous)
    writer.apply_resolution(
        created=set(assignment.created),
        summaries=[
            summarise(cluster, profile_id, source_rank)
            for cluster, profile_id in zip(found, assignment.profile_ids, strict=True)
        ],
        links=links,
        linked_before=previous.keys(),
        retired=assignment.retired,
        now=utc_now(),
    )
    return ResolutionOutcome(
        profiles_created=_brand_new(found, assignment.profile_ids, assignment.created),
        profiles_merged=len(assignment.retired),
        profiles_split=splits(found),
        generic_marked=len(values.changed),
    )


def _without(row: RecordRow, generic: Set[str]) -> RecordRow:
    """The row without its generic identifiers (most rows have none)."""
    if generic.isdisjoint(row.linking_keys):
        return row
    return replace(row, linking_keys=tuple(k for k in row.linking_keys if k not in generic))


def _brand_new(found: Sequence[Cluster], ids: Sequence[str], created: Sequence[str]) -> int:
    """Minted profiles for people not seen before (not pieces split off a profile)."""
    minted = set(created)
    return sum(
        1
        for cluster, profile_id in zip(found, ids, strict=True)
        if profile_id in minted and not any(r.profile_id for r in cluster.records)
    )


def splits(found: Sequence[Cluster]) -> int:
    """Old profiles whose records now sit in more than one cluster."""
    homes: dict[str, set[int]] = defaultdict(set)
    for index, cluster in enumerate(found):
        for record in cluster.records:
            if record.profile_id:
                homes[record.profile_id].add(index)
    return sum(1 for clusters_of in homes.values() if len(clusters_of) > 1)
