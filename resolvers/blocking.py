"""Blocking keys: which records are worth comparing. Two records are candidates
when they share a key. The batch executor groups the keys in memory; the online
executor finds its candidates through the graph's full-text index on names.

One kind of key is asymmetric: a handle made of a name ("cfrancavilla", from
Carlos Francavilla or C. Francavilla). A record carrying it as a handle or email
local part is compared with every record whose name makes it; two records that
only make it from their names are compared only when one of them has just an
initial for a given name (two full names that agree are paired by the name key;
Carlos and Cristina Francavilla are not worth a comparison).
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from resolvers.features import Features

# A key carried by more records than this is skipped: it would cost pairs
# quadratically and says little (a common surname in one year, a busy NAT IP).
MAX_BLOCK = 300
_NUMPY_FROM = 24  # blocks at least this big make their pairs with numpy

# A member's role in a block: carries the key itself, or makes it from its
# name only (with a full given name, or an initial).
_CARRIES, _NAME_ONLY, _INITIAL_ONLY = 0, 1, 2


def blocking_keys(f: Features) -> dict[str, int]:
    """The record's blocking keys (short strings; the prefix names the rule),
    each with the record's role in it."""
    keys = dict.fromkeys(_carried_keys(f), _CARRIES)
    given, family = f.given, f.family_last
    if given and family:
        role = _INITIAL_ONLY if len(given) == 1 else _NAME_ONLY
        for key in (f"h:{given}{family}", f"h:{given[0]}{family}"):
            keys.setdefault(key, role)
    return keys


def _carried_keys(f: Features) -> Iterator[str]:
    # Keys of a few thousand values (a postcode with an initial, a name with a
    # birth year) make pairs quadratically in the records; at a million records
    # they made most of the pairs, and found almost no review-worthy pair the
    # other keys miss (bench/README.md, "Blocking keys"). The postcode pairs
    # with the street number instead, like a whole address with a mistyped street.
    given, family = f.given, f.family_last
    if f.birth_date:
        yield f"dob:{f.birth_date}"
    yield from (f"id:{t}:{v}" for t, v in f.ids)
    if given and family:
        yield "nm:" + "|".join(sorted((given, family)))
    if f.postcode and f.street_number:
        yield f"ps:{f.postcode}|{f.street_number}"
    if f.street_number and f.address:
        yield f"ad:{f.address}"
    email_locals = f.email_locals  # a property, built on each use
    yield from (f"em:{local}" for local in email_locals)
    yield from (f"h:{handle}" for handle in f.handles)
    yield from (f"h:{local}" for local in email_locals)
    yield from (f"ph:{phone[-8:]}" for phone in f.phones)
    yield from (f"ip:{ip}" for ip in f.ips)


@dataclass(frozen=True)
class Pairs:
    """Record index pairs (left < right), sorted, without repeats: two arrays,
    so that tens of millions of them fit in memory."""

    left: npt.NDArray[np.int64]
    right: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.left)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return zip(self.left.tolist(), self.right.tolist(), strict=True)

    def __getitem__(self, part: slice) -> Pairs:
        return Pairs(self.left[part], self.right[part])

    def at(self, positions: Sequence[int]) -> list[tuple[int, int]]:
        """The pairs at these positions."""
        chosen = np.asarray(positions, dtype=np.int64)
        return list(zip(self.left[chosen].tolist(), self.right[chosen].tolist(), strict=True))

    def where(self, keep: npt.NDArray[np.bool_]) -> Pairs:
        return Pairs(self.left[keep], self.right[keep])

    @staticmethod
    def of(pairs: Sequence[tuple[int, int]]) -> Pairs:
        both = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        return Pairs(both[:, 0].copy(), both[:, 1].copy())


def candidate_pairs(records: Sequence[Features], max_block: int = MAX_BLOCK) -> Pairs:
    """Index pairs (i < j) of records sharing a blocking key (see the module)."""
    blocks: dict[str, list[int]] = defaultdict(list)
    for index, f in enumerate(records):
        for key, role in blocking_keys(f).items():
            blocks[key].append(index * 4 + role)  # packed: one int per member
    codes = array("q")  # i * n + j for each pair
    n = len(records)
    for members in blocks.values():
        if 1 < len(members) <= max_block:
            _block_pairs(members, n, codes)
    blocks.clear()
    unique = np.unique(np.frombuffer(codes, dtype=np.int64))
    return Pairs(unique // n, unique % n)


def _block_pairs(members: list[int], n: int, codes: array[int]) -> None:
    """Append one block's pair codes: every pair but two name-only full names."""
    named = [m >> 2 for m in members if m & 3 == _NAME_ONLY]
    others = [m >> 2 for m in members if m & 3 != _NAME_ONLY]
    if len(members) >= _NUMPY_FROM:
        codes.frombytes(_numpy_codes(others, named, n).tobytes())
        return
    for position, i in enumerate(others):
        codes.extend(i * n + j for j in others[position + 1 :])  # members come in index order
        codes.extend(min(i, j) * n + max(i, j) for j in named)


def _numpy_codes(others: list[int], named: list[int], n: int) -> npt.NDArray[np.int64]:
    left = np.asarray(others, dtype=np.int64)
    upper_i, upper_j = np.triu_indices(len(left), 1)
    within = left[upper_i] * n + left[upper_j]
    x, y = np.meshgrid(left, np.asarray(named, dtype=np.int64), indexing="ij")
    low, high = np.minimum(x, y).ravel(), np.maximum(x, y).ravel()
    return np.concatenate((within, low * n + high))
