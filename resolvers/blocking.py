"""Blocking keys: which records are worth comparing. Two records are candidates
when they share a key. The same keys serve the batch executor (grouped in
memory) and the online one (looked up in the graph), so both see the same pairs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

from resolvers.features import Features

# A key carried by more records than this is skipped: it would cost pairs
# quadratically and says little (a common surname in one year, a busy NAT IP).
MAX_BLOCK = 300


def blocking_keys(f: Features) -> set[str]:
    """The record's blocking keys (short strings; the prefix names the rule)."""
    keys: set[str] = set()
    given, family = f.given, f.family_last
    year = f.birth_date[:4] if f.birth_date else None
    if f.birth_date:
        keys.add(f"dob:{f.birth_date}")
    keys.update(f"id:{t}:{v}" for t, v in f.ids)
    if given and family:
        keys.add("nm:" + "|".join(sorted((given, family))))
        keys.add(f"h:{given}{family}")
        keys.add(f"h:{given[0]}{family}")
    if f.postcode and given:
        keys.add(f"pg:{f.postcode}|{given[0]}")
    if f.postcode and family:
        keys.add(f"pf:{f.postcode}|{family[0]}")
    if year and family:
        keys.add(f"fy:{family}|{year}")
    if year and given:
        keys.add(f"gy:{given}|{year}")
    if f.street_number and f.address:
        keys.add(f"ad:{f.address}")
    if family and f.city:
        keys.add(f"fc:{family}|{f.city}")
    keys.update(f"em:{local}" for local in f.email_locals)
    keys.update(f"h:{handle}" for handle in f.handles)
    keys.update(f"h:{local}" for local in f.email_locals)
    keys.update(f"ph:{phone[-8:]}" for phone in f.phones)
    keys.update(f"ip:{ip}" for ip in f.ips)
    return keys


def candidate_pairs(
    records: Sequence[Features], max_block: int = MAX_BLOCK
) -> set[tuple[int, int]]:
    """Index pairs (i < j) of records sharing a blocking key."""
    blocks: dict[str, list[int]] = defaultdict(list)
    for index, f in enumerate(records):
        for key in blocking_keys(f):
            blocks[key].append(index)
    pairs: set[tuple[int, int]] = set()
    for members in blocks.values():
        if 1 < len(members) <= max_block:
            pairs.update(_pairs_of(members))
    return pairs


def _pairs_of(members: list[int]) -> Iterator[tuple[int, int]]:
    for position, i in enumerate(members):
        for j in members[position + 1 :]:
            yield (i, j) if i < j else (j, i)
