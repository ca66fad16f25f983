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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from resolvers.features import Features

# A key carried by more records than this is skipped: it would cost pairs
# quadratically and says little (a common surname in one year, a busy NAT IP).
MAX_BLOCK = 300
_PAIRS_PER_PART = 8_000_000  # pairs made at once (a few hundred MB of arrays)

# A member's role in a block: carries the key itself, or makes it from its
# name only (with a full given name, or an initial); or carries a key that
# many strangers share, which pairs only records whose names share an initial.
_CARRIES, _NAME_ONLY, _INITIAL_ONLY, _SAME_INITIAL = 0, 1, 2, 3


def blocking_keys(f: Features) -> dict[str, int]:
    """The record's blocking keys (short strings; the prefix names the rule),
    each with the record's role in it."""
    keys = dict.fromkeys(_carried_keys(f), _CARRIES)
    # Alone, a birth date and a house (a postcode with a street number) made
    # two thirds of a million records' pairs (21 M of 28 M), almost all between
    # strangers. Names swapped, a nickname or a dropped surname keep an initial
    # in common; a record without a name pairs with those without one.
    if f.birth_date:
        keys[f"dob:{f.birth_date}"] = _SAME_INITIAL
    if f.postcode and f.street_number:
        keys[f"ps:{f.postcode}|{f.street_number}"] = _SAME_INITIAL
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
    # other keys miss (bench/README.md, "Fewer blocking keys"). The postcode pairs
    # with the street number instead (`blocking_keys`), like a whole address with
    # a mistyped street.
    given, family = f.given, f.family_last
    yield from (f"id:{t}:{v}" for t, v in f.ids)
    if given and family:
        yield "nm:" + "|".join(sorted((given, family)))
    if f.street_number and f.address:
        yield f"ad:{f.address}"
    yield from (f"em:{local}" for local in f.email_locals)
    yield from (f"h:{handle}" for handle in f.handles)
    yield from (f"h:{local}" for local in f.email_locals)
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
    n = len(records)
    members = _memberships(records, max_block)
    initials = np.fromiter(map(_initials, records), dtype=np.int64, count=n)
    codes = [_pair_codes(members, initials, part, n) for part in _parts(members.later)]
    unique = _sorted_unique(np.concatenate(codes)) if codes else np.empty(0, dtype=np.int64)
    return Pairs(unique // max(n, 1), unique % max(n, 1))


Ints = npt.NDArray[np.int64]


def _sorted_unique(codes: Ints) -> Ints:
    """`np.unique` by sorting in place: numpy's own (hashing first, then
    sorting) took 31 s on the 1M set's 35 M pair codes, this 4 s."""
    codes.sort()
    kept: Ints = codes[np.r_[True, codes[1:] != codes[:-1]]] if len(codes) else codes
    return kept


class _Members(NamedTuple):
    """Every (record, role) membership of a key, grouped by key with a block's
    members in record order; and how many members of its block come after
    each (none in blocks over `max_block`)."""

    record: Ints
    role: Ints
    later: Ints


def _memberships(records: Sequence[Features], max_block: int) -> _Members:
    names: list[str] = []
    roles: list[int] = []
    counts = array("q")
    for f in records:
        keys = blocking_keys(f)
        names += keys
        roles += keys.values()
        counts.append(len(keys))
    # A key's hash stands for it (computed already, by its dict): numbering
    # the keys in a dict of their own took 5 s a million records. Two keys of
    # one hash (about one chance in ten million) only make one block of two.
    key = np.fromiter(map(hash, names), dtype=np.int64, count=len(names))
    del names
    order = np.argsort(key, kind="stable")
    key = key[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else key
    sizes = np.diff(np.r_[starts, len(key)])
    later = np.repeat(starts + sizes, sizes) - np.arange(len(key)) - 1
    later[np.repeat(sizes > max_block, sizes)] = 0
    record = np.repeat(np.arange(len(records)), np.frombuffer(counts, dtype=np.int64))[order]
    role = np.fromiter(roles, dtype=np.int64, count=len(roles))[order]
    return _Members(record, role, later)


def _parts(later: Ints) -> list[slice]:
    """Ranges of memberships that make about `_PAIRS_PER_PART` pairs each, so
    that no range needs much memory at once."""
    step = _PAIRS_PER_PART
    if not len(later):
        return []
    total = np.cumsum(later)
    cuts = np.searchsorted(total, np.arange(step, total[-1], step))
    edges = [0, *sorted({int(c) + 1 for c in cuts}), len(later)]
    return [slice(a, b) for a, b in pairwise(edges) if a < b]


def _initials(f: Features) -> int:
    """The initials of the record's name words, one bit each (two letters may
    share a bit: that only pairs more)."""
    bits = 0
    for word in (f.given, *f.family):
        if word:
            bits |= 1 << (ord(word[0]) % 63)
    return bits


def _pair_codes(members: _Members, initials: Ints, part: slice, n: int) -> Ints:
    """The codes (i * n + j) of the pairs each membership in `part` makes with
    the later members of its block: every pair but two name-only full names,
    and in a block of strangers, records whose names share no initial."""
    record, role = members.record, members.role
    counts = members.later[part]
    left = np.repeat(np.arange(part.start, part.stop), counts)
    first_of_each = np.repeat(np.cumsum(counts) - counts, counts)
    right = left + 1 + (np.arange(len(left)) - first_of_each)
    keep = (role[left] != _NAME_ONLY) | (role[right] != _NAME_ONLY)
    i, j = record[left], record[right]
    a, b = initials[i], initials[j]
    keep &= (role[left] != _SAME_INITIAL) | ((a & b) != 0) | ((a | b) == 0)
    codes: Ints = i[keep] * n + j[keep]
    return codes
