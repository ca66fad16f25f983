"""The most each candidate pair's match weight can be, for millions of pairs at
once: a column at a time, in numpy and rapidfuzz's C loops. The batch executor
compares in Python only the pairs whose bound reaches review; every other pair
would be given up by `MatchModel.weight_from` anyway, so the decisions are the
same, only sooner.

A bound is never below the pair's weight (tests check it under random models
and on every candidate pair of a generated population). Where a comparison is
costly to pin down here (several ids or family words, handles, emails, phones,
IPs), the bound takes its best level.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Generator, Hashable, Sequence
from contextlib import closing
from dataclasses import dataclass
from functools import partial
from operator import attrgetter
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from rapidfuzz.distance import OSA, JaroWinkler
from rapidfuzz.process import cpdist

from resolvers.blocking import Pairs
from resolvers.comparisons import (
    ADDRESS_CLOSE,
    CITY_CLOSE,
    COMPARISONS,
    CROSSED_CLOSE,
    NAME_CLOSE,
)
from resolvers.features import Features
from resolvers.forked import ForkedChunks
from resolvers.match_model import MatchModel
from resolvers.nicknames import nickname_pairs
from resolvers.pairwork import Done, ignore_progress, workers

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

# Similarities are compared a little below each level's threshold: a pair at a
# threshold is then given the better level, which only raises the bound.
_SLACK = 1e-6
_CHUNK = 1_000_000  # pairs bounded at once
_PARALLEL_FROM_CHUNKS = 4  # below, a few seconds here: not worth a copy of a large process

_MANY = -2  # a record with several personal ids (bounded by the best level)
_BOUNDED = {"given_name", "family_name", "birth_date", "personal_id", "street_number",
            "address", "postcode", "city", "email", "phone", "handle", "ip"}  # fmt: skip
# A comparison added to the model without a bound here would be left out of
# every bound: a pair it lifts above review would be lost.
assert {c.name for c in COMPARISONS} == _BOUNDED, "bound every comparison"


@dataclass(frozen=True)
class _Text:
    """One text field of every record: the text ("" when absent), a code per
    distinct text (-1 when absent), its length and first letter; for a field
    measured by edits, its characters' counts (`_bags`); by similarity, the
    set of its characters (`_letters`)."""

    text: npt.NDArray[np.object_]
    code: Ints
    length: Ints
    first: Ints
    bag: npt.NDArray[np.uint8] | None = None
    letters: npt.NDArray[np.uint32] | None = None

    @staticmethod
    def of(
        values: Sequence[str | None],
        vocabulary: dict[str, int],
        *,
        bags: bool = False,
        letters: bool = False,
    ) -> _Text:
        return _Text.spread(_factorized(values), vocabulary, bags=bags, letters=letters)

    @staticmethod
    def spread(
        values: _Factorized,
        vocabulary: dict[str, int],
        *,
        bags: bool = False,
        letters: bool = False,
    ) -> _Text:
        """The column of the values. Made once per distinct value, then
        spread: a million records hold a few hundred thousand names (value by
        value, the columns took 13.5 s a million; now about 11)."""
        distinct, where = values
        text = np.array([v or "" for v in distinct], dtype=object)
        code = [vocabulary.setdefault(v, len(vocabulary)) if v else -1 for v in distinct]
        length = [len(v) if v else 0 for v in distinct]
        first = [ord(v[0]) if v else -1 for v in distinct]
        codes, lengths, firsts = (np.array(c, dtype=np.int64)[where] for c in (code, length, first))
        bag = _bags(distinct)[where] if bags else None
        sets = _letters(distinct)[where] if letters else None
        return _Text(text[where], codes, lengths, firsts, bag, sets)

    @property
    def present(self) -> Bools:
        return self.code >= 0


@dataclass(frozen=True)
class _Field:
    """A field compared whole; `exact` holds each record's exact-level weight
    when that level's weight depends on the value."""

    name: str
    text: _Text
    thresholds: tuple[float, ...]
    exact: Floats | None = None


class Columns:
    """What the bounds read of `records`, a column each, whatever the model:
    the batch executor makes them while its candidate pairs are found."""

    def __init__(self, records: Sequence[Features]) -> None:
        read = _Read(records)
        names: dict[str, int] = {}
        self.given = _Text.spread(read.given, names, letters=True)
        # The family name's parts, from its distinct values (a tenth of the records').
        family = read.family
        self.family_last = _Text.spread(family.of(lambda f: f[-1] if f else None), names,
                                        letters=True)  # fmt: skip
        self.names = len(names)
        self.nicknames = np.unique(
            np.array([x * self.names + y for x, y in nickname_pairs(names)], dtype=np.int64)
        )
        self.one_family = family.each(lambda f: len(f) == 1, np.bool_)
        # A family name of two or three words: its first and middle words (the
        # last is `family_last`); one of more words is bounded by the best weight.
        self.family_first = _Text.spread(
            family.of(lambda f: f[0] if len(f) > 1 else None), names, letters=True
        )
        self.family_middle = _Text.spread(
            family.of(lambda f: f[1] if len(f) == 3 else None), names, letters=True
        )
        self.few_family = family.each(lambda f: len(f) <= 3, np.bool_)
        self.family_whole = _Text.spread(family.of(lambda f: " ".join(f) if f else None), {})
        others: dict[str, int] = {}
        self.birth = _Text.spread(read.birth_date, others, bags=True)
        date = read.birth_date.of(lambda d: d or "00000000")
        self.year = date.each(lambda d: int(d[:4]), np.int64)
        self.month = date.each(lambda d: int(d[4:6]), np.int64)
        self.day = date.each(lambda d: int(d[6:8]), np.int64)
        self.id_type, ids = _one_id(records)
        self.id_value = _Text.of(ids, others, bags=True)
        self.street_number = _Text.spread(read.street_number, others)
        self.address = _Text.spread(read.address, others, letters=True)
        self.postcode = _Text.spread(read.postcode, others)
        self.city = _Text.spread(read.city, others, letters=True)
        emails = _present(records, "emails")
        self.present = {  # bounded by their best level when both records have them
            "email": emails,
            "phone": _present(records, "phones"),
            "handle": _present(records, "handles") | emails,
            "ip": _present(records, "ips"),
        }


class Bounds(Columns):
    """Bounds the weights of pairs of `records` under `model` (the records, or
    their `Columns` made beforehand)."""

    def __init__(self, model: MatchModel, records: Sequence[Features] | Columns) -> None:
        if isinstance(records, Columns):
            vars(self).update(vars(records))  # the same arrays, not copies
        else:
            super().__init__(records)
        self.model = model
        self.given_exact = self._exact("given_name", self.given)
        self.family_exact = self._exact("family_name", self.family_whole)
        self.fields = (  # compared whole: exact, then close at each threshold
            _Field("street_number", self.street_number, (),
                   self._exact("street_number", self.street_number)),
            _Field("address", self.address, ADDRESS_CLOSE),
            _Field("postcode", self.postcode, (), self._exact("postcode", self.postcode)),
            _Field("city", self.city, CITY_CLOSE, self._exact("city", self.city)),
        )  # fmt: skip

    def reaching(self, pairs: Pairs, floor: float, progress: Done = ignore_progress) -> Bools:
        """Which pairs' weights may reach `floor`; `progress(pairs done)` after
        each million. The comparisons that need no string distance are bounded
        first, the others taken at their best; those are then measured one at
        a time, each only for the pairs still in reach. Millions of pairs are
        bounded on every core (rapidfuzz's own threads wait on Python to
        hand over each string)."""
        keep = np.zeros(len(pairs), dtype=np.bool_)
        done = 0
        with closing(self.each_reaching(pairs, floor)) as each:
            for part, reached in each:
                keep[done : done + len(part)] = reached
                done += len(part)
                progress(done)
        return keep

    def each_reaching(self, pairs: Pairs, floor: float) -> Generator[tuple[Pairs, Bools]]:
        """`reaching`, a chunk of the pairs (a million) at a time, in order:
        each chunk and which of its pairs may reach `floor`. Closing it stops
        the copies bounding the next chunks."""
        return self._each(pairs, np.bool_, lambda p: self._reaching(p.left, p.right, floor))

    def each_weighed(
        self, pairs: Pairs, floor: float, weigh: Callable[[Ints, Ints], Floats]
    ) -> Generator[tuple[Pairs, Floats]]:
        """`each_reaching`, with the weights of the pairs in reach, where they
        are bounded: `weigh(left, right)` of those (in Python: a third of a
        million records' scoring, which this process did alone while the
        copies bounded), and NaN for the others."""

        def weighed(part: Pairs) -> Floats:
            found = np.full(len(part), np.nan)
            reach = np.flatnonzero(self._reaching(part.left, part.right, floor))
            found[reach] = weigh(part.left[reach], part.right[reach])
            return found

        return self._each(pairs, np.float64, weighed)

    def _each(
        self, pairs: Pairs, dtype: type[np.generic], work: Callable[[Pairs], Any]
    ) -> Generator[tuple[Pairs, Any]]:
        """`work` of each chunk of the pairs, in order; in forked copies of
        this process for many pairs (`on_workers`): they read the bounds
        where they are (pickling them to worker processes took one core 8 s
        a million records, 450 MB to each)."""
        chunks = [pairs[start : start + _CHUNK] for start in range(0, len(pairs), _CHUNK)]
        if not self.on_workers(len(pairs)):
            for part in chunks:
                yield part, work(part)
            return
        sizes = [len(chunk) for chunk in chunks]

        def each(k: int) -> Any:
            return work(chunks[k])

        with ForkedChunks(sizes, dtype, each, copies=workers(), started=_one_thread) as done:
            yield from zip(chunks, done.each(), strict=True)

    @staticmethod
    def on_workers(pairs: int) -> bool:
        """Whether so many pairs are bounded in forked copies of this process
        (`_on_workers`; this one then only waits for their answers)."""
        enough = -(-pairs // _CHUNK) >= _PARALLEL_FROM_CHUNKS
        return enough and workers() >= 2 and hasattr(os, "fork")

    def _reaching(self, a: Ints, b: Ints, floor: float) -> Bools:
        # The measured comparisons start at their ceilings (`_ceilings`), then
        # are measured one at a time, each only for the pairs still in reach.
        parts = self._parts
        ceilings = self._ceilings(a, b)
        total = self.model.prior_weight + np.sum(
            [part(a, b, _MEASURE) for name, part in parts.items() if name not in _MEASURED]
            + list(ceilings.values()),
            axis=0,
        )
        alive = np.nonzero(total >= floor - _SLACK)[0]
        for name in _MEASURED:
            total[alive] += parts[name](a[alive], b[alive], _MEASURE) - ceilings[name][alive]
            alive = alive[total[alive] >= floor - _SLACK]
        reached = np.zeros(len(a), dtype=np.bool_)
        reached[alive] = True
        return reached

    def _ceilings(self, a: Ints, b: Ints) -> dict[str, Floats]:
        """The most each measured comparison can add to each pair's bound,
        before any string is measured: those by similarity from the
        similarities' ceilings (`_CEILINGS`), the others at their best weight.
        From their best weights alone, every pair of the 1M set stayed in
        reach until the last comparison was measured, so each was measured
        for every pair. From these, the personal ids and birth dates leave
        a third of the pairs in reach, and bounding takes a third less time
        (58 and 68 s against 86 and 104 s in one process)."""
        parts = self._parts
        return {
            name: parts[name](a, b, _CEILINGS) if name in _CEILED
            else np.full(len(a), self._best(name))
            for name in _MEASURED
        }  # fmt: skip

    def _best(self, part: str) -> float:
        """The most a part's bound can be (`MatchModel.best_weight`)."""
        names = ("given_name", "family_name") if part == "names" else (part,)
        return sum(self.model.best_weight(name) for name in names)

    def of(self, left: Ints, right: Ints) -> Floats:
        """The bound of each pair's weight `model.weight(records[left[k]],
        records[right[k]])`, in that order (a given name's adjustment is the
        left record's value's)."""
        parts = [part(left, right, _MEASURE) for part in self._parts.values()]
        total: Floats = self.model.prior_weight + np.sum(parts, axis=0)
        return total

    @property
    def _parts(self) -> dict[str, _Part]:
        """Each comparison's bound, by name (the names' two in one)."""
        return {
            "names": self._names,  # given and family
            "birth_date": self._birth_date,
            "personal_id": self._personal_id,
            **{field.name: partial(self._field, field) for field in self.fields},
            **{name: partial(self._best_when_present, name) for name in self.present},
        }  # fmt: skip

    # -- names -------------------------------------------------------------

    def _names(self, a: Ints, b: Ints, measure: _Measure) -> Floats:
        """The given and family names' bounds: both ask which pairs' names may
        be written the other way round on one side."""
        crossed = np.nonzero(self._crossable(a, b, measure))[0]
        return self._given_name(a, b, measure, crossed) + self._family_name(a, b, measure, crossed)

    def _given_name(self, a: Ints, b: Ints, measure: _Measure, crossed: Ints) -> Floats:
        name = "given_name"
        both = self.given.present[a] & self.given.present[b]
        straight = self._name_level(self.given, a, self.given, b, measure, nicknames=True)
        bound = self._at_level(name, straight, self.given_exact[a])
        x, y = a[crossed], b[crossed]
        across = self._name_level(self.given, x, self.family_last, y, measure, nicknames=True)
        bound[crossed] = np.maximum(
            bound[crossed], self._at_level(name, across, self.given_exact[x])
        )
        return np.where(both, bound, 0.0)

    def _family_name(self, a: Ints, b: Ints, measure: _Measure, crossed: Ints) -> Floats:
        name = "family_name"
        both = self.family_last.present[a] & self.family_last.present[b]
        best = self.model.best_weight(name)
        straight = self._name_level(
            self.family_last, a, self.family_last, b, measure, nicknames=False
        )
        several = np.nonzero(~(self.one_family[a] & self.one_family[b]))[0]
        straight[several] = self._words_level(a[several], b[several], measure)
        bound = self._at_level(name, straight, self.family_exact[a])
        bound = np.where(self.few_family[a] & self.few_family[b], bound, best)
        x, y = a[crossed], b[crossed]
        across = self._name_level(self.family_last, x, self.given, y, measure, nicknames=False)
        bound[crossed] = np.maximum(
            bound[crossed], self._at_level(name, across, np.full(len(x), best))
        )
        return np.where(both, bound, 0.0)

    def _name_level(
        self, x: _Text, a: Ints, y: _Text, b: Ints, measure: _Measure, *, nicknames: bool
    ) -> Ints:
        """The best level two names may reach: exact, (nickname,) close at each of
        `NAME_CLOSE`, initial, different; `nicknames=False` skips that level
        (the family-name levels are then numbered one later: word shared)."""
        equal = x.code[a] == y.code[b]
        similarity = measure.jaro_winkler(x, a, y, b, min(NAME_CLOSE))
        initial = ((x.length[a] == 1) | (y.length[b] == 1)) & (x.first[a] == y.first[b])
        nickname = (
            np.isin(x.code[a] * self.names + y.code[b], self.nicknames)
            if nicknames
            else np.zeros(len(a), dtype=np.bool_)
        )
        return np.select(
            [equal, nickname, *(similarity >= t - _SLACK for t in NAME_CLOSE), initial],
            [0, 1, 2, 3, 4],
            5,
        )

    def _words_level(self, a: Ints, b: Ints, measure: _Measure) -> Ints:
        """The best level two family names of up to three words (one side of
        several) may reach: the same words, a word shared (a dropped second
        surname), the closest two words' similarity, an initial (any word of
        one letter); see `comparisons._family_jw` and its neighbours."""
        words = (self.family_first, self.family_middle, self.family_last)
        same = self.family_whole.code[a] == self.family_whole.code[b]
        shared = np.zeros(len(a), dtype=np.bool_)
        closest = np.zeros(len(a))
        for x in words:
            for y in words:
                both = x.present[a] & y.present[b]
                shared |= both & (x.code[a] == y.code[b])
                similar = np.where(both, measure.jaro_winkler(x, a, y, b, min(NAME_CLOSE)), 0.0)
                closest = np.maximum(closest, similar)
        initial = np.zeros(len(a), dtype=np.bool_)
        for w in words:
            initial |= (w.length[a] == 1) | (w.length[b] == 1)
        return np.select(
            [same, shared, *(closest >= t - _SLACK for t in NAME_CLOSE), initial],
            [0, 1, 2, 3, 4],
            5,
        )

    def _crossable(self, a: Ints, b: Ints, measure: _Measure) -> Bools:
        """Pairs whose given and family names may be written the other way round
        on one side (`comparisons._crossed`'s first tests)."""
        g, f = self.given, self.family_last
        present = g.present[a] & g.present[b] & f.present[a] & f.present[b]
        differ = (g.code[a] != g.code[b]) & (f.code[a] != f.code[b])
        close = measure.jaro_winkler(g, a, f, b, CROSSED_CLOSE) >= CROSSED_CLOSE - _SLACK
        crossable: Bools = present & differ & close
        return crossable

    # -- other fields --------------------------------------------------------

    def _birth_date(self, a: Ints, b: Ints, measure: _Measure) -> Floats:
        both = self.birth.present[a] & self.birth.present[b]
        edits = measure.osa(self.birth, a, self.birth, b)
        swapped = (
            (self.year[a] == self.year[b])
            & (self.month[a] == self.day[b])
            & (self.day[a] == self.month[b])
        )
        level = np.select([edits == 0, edits <= 1, swapped, edits <= 2], [0, 1, 2, 3], 4)
        return np.where(both, self._at_level("birth_date", level, None), 0.0)

    def _personal_id(self, a: Ints, b: Ints, measure: _Measure) -> Floats:
        kind = self.id_type
        both = (kind[a] != -1) & (kind[b] != -1)
        many = (kind[a] == _MANY) | (kind[b] == _MANY)
        edits = measure.osa(self.id_value, a, self.id_value, b)
        level = np.select(
            [many, kind[a] != kind[b], edits == 0, edits <= 1, edits <= 2], [0, 3, 0, 1, 2], 3
        )
        return np.where(both, self._at_level("personal_id", level, None), 0.0)

    def _field(self, field: _Field, a: Ints, b: Ints, measure: _Measure) -> Floats:
        text = field.text
        both = text.present[a] & text.present[b]
        equal = text.code[a] == text.code[b]
        if field.thresholds:
            similarity = measure.jaro_winkler(text, a, text, b, min(field.thresholds))
            closer = [similarity >= t - _SLACK for t in field.thresholds]
        else:
            closer = []
        level = np.select([equal, *closer], list(range(len(closer) + 1)), len(closer) + 1)
        exact = None if field.exact is None else field.exact[a]
        return np.where(both, self._at_level(field.name, level, exact), 0.0)

    def _best_when_present(self, name: str, a: Ints, b: Ints, measure: _Measure) -> Floats:
        present = self.present[name]
        return np.where(present[a] & present[b], self.model.best_weight(name), 0.0)

    # -- weights -------------------------------------------------------------

    def _at_level(self, name: str, level: Ints, exact: Floats | None) -> Floats:
        """The most a comparison adds at `level` or any worse one; `exact`, the
        exact level's weight with its value's adjustment."""
        weights = self.model.level_weights(name)
        suffix = np.maximum.accumulate(np.array(weights[::-1]))[::-1]
        bound = suffix[level]
        if exact is not None:
            bound = np.where(level == 0, np.maximum(exact, suffix[min(1, len(weights) - 1)]), bound)
        return bound

    def _exact(self, name: str, text: _Text) -> Floats:
        """Each record's exact-level weight for `name`, with its value's
        adjustment (0 where it has none), once per distinct value."""
        codes, first, where = np.unique(text.code, return_index=True, return_inverse=True)
        weights = np.array(
            [self.model.exact_weight(name, text.text[i]) if code >= 0 else 0.0
             for code, i in zip(codes.tolist(), first.tolist(), strict=True)],
            dtype=np.float64,
        )  # fmt: skip
        found: Floats = weights[where]
        return found


class _Read:
    """The records' fields the columns are made of, read in one pass and
    factorized (`_Factorized`)."""

    def __init__(self, records: Sequence[Features]) -> None:
        read = attrgetter(*_COLUMNS)
        columns: list[tuple[Any, ...]] = (
            list(zip(*map(read, records), strict=True)) if records else [()] * len(_COLUMNS)
        )
        self.given, self.family, self.birth_date, self.address, self.street_number, \
            self.postcode, self.city = map(_factorized, columns)  # fmt: skip


_COLUMNS = ("given", "family", "birth_date", "address", "street_number", "postcode", "city")


_threads = -1  # rapidfuzz's threads: every core, but one in each forked copy


def _one_thread() -> None:
    global _threads  # noqa: PLW0603 - a forked copy's own
    _threads = 1


class _Factorized(NamedTuple):
    """Values as the distinct ones, in order of first appearance, and where
    each value is among them."""

    distinct: list[Any]
    where: Ints

    def of(self, part: Callable[[Any], str | None]) -> _Factorized:
        """`part` of each value, factorized: computed once per distinct value."""
        inner = _factorized([part(value) for value in self.distinct])
        return _Factorized(inner.distinct, inner.where[self.where])

    def each(self, value: Callable[[Any], Any], dtype: type[np.generic]) -> npt.NDArray[Any]:
        """`value` of each value, as an array: computed once per distinct value."""
        found: npt.NDArray[Any] = np.array([value(v) for v in self.distinct], dtype=dtype)
        return found[self.where]


def _factorized(values: Sequence[Hashable]) -> _Factorized:
    """The values factorized, in C loops (`dict.fromkeys`, `map`)."""
    distinct = list(dict.fromkeys(values))
    position = {value: i for i, value in enumerate(distinct)}
    where = np.fromiter(map(position.__getitem__, values), dtype=np.int64, count=len(values))
    return _Factorized(distinct, where)


def _one_id(records: Sequence[Features]) -> tuple[Ints, list[str | None]]:
    """Each record's personal id type (a number; -1 none, `_MANY` several) and
    value (of a record with one)."""
    ids = list(map(attrgetter("ids"), records))
    count = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
    kind = np.where(count > 1, _MANY, -1)
    one = np.flatnonzero(count == 1).tolist()
    only = [next(iter(ids[i])) for i in one]
    types: dict[str, int] = {}
    kind[one] = [types.setdefault(type_, len(types)) for type_, _ in only]
    values: list[str | None] = [None] * len(records)
    for i, (_, value) in zip(one, only, strict=True):
        values[i] = value
    return kind, values


def _present(records: Sequence[Features], field: str) -> Bools:
    """Whether each record has any value of `field`."""
    have = map(bool, map(attrgetter(field), records))
    return np.fromiter(have, dtype=np.bool_, count=len(records))


class _Measure:
    """String distances of pairs of values, computed (only between two present,
    different values: the others' are known), once per distinct pair of
    values: the pairs of a million records repeat their names (half of them)
    and addresses (a fifth). `x` and `y` code their texts from one vocabulary."""

    def jaro_winkler(self, x: _Text, a: Ints, y: _Text, b: Ints, least: float) -> Floats:
        """The similarities; one below `least` (the lowest threshold the caller
        compares it with) may come as its ceiling instead (`_jaro_winkler_ceiling`),
        which is below `least` too: six pairs in ten of a million records' are
        never measured."""
        found = np.ones(len(a))
        todo = np.nonzero(x.present[a] & y.present[b] & (x.code[a] != y.code[b]))[0]
        if len(todo):
            ceiling = _jaro_winkler_ceiling(x, a[todo], y, b[todo])
            low = ceiling < least - _SLACK
            found[todo[low]] = ceiling[low]
            todo = todo[~low]
        if len(todo):
            one, back = _distinct(x, a[todo], y, b[todo])
            found[todo] = cpdist(x.text[one[0]], y.text[one[1]], scorer=JaroWinkler.similarity,
                                 dtype=np.float64, workers=_threads)[back]  # fmt: skip
        return found

    def osa(self, x: _Text, a: Ints, y: _Text, b: Ints) -> Ints:
        """The edits between the values, or `MORE_EDITS` for any number over
        two (the comparisons' last level): where their characters' counts
        already differ by more, none is counted (nine pairs in ten of a
        million records' personal ids, four in five of their birth dates)."""
        found: Ints = (x.code[a] != y.code[b]).astype(np.int64)
        todo = np.nonzero(x.present[a] & y.present[b] & (found == 1))[0]
        if len(todo) and x.bag is not None and y.bag is not None:
            far = _bag_distance(x.bag[a[todo]], y.bag[b[todo]]) >= MORE_EDITS
            found[todo[far]] = MORE_EDITS
            todo = todo[~far]
        if len(todo):
            one, back = _distinct(x, a[todo], y, b[todo])
            edits = cpdist(x.text[one[0]], y.text[one[1]], scorer=OSA.distance,
                           dtype=np.int64, workers=_threads)  # fmt: skip
            found[todo] = np.minimum(edits, MORE_EDITS)[back]
        return found


def _jaro_winkler_ceiling(x: _Text, a: Ints, y: _Text, b: Ints) -> Floats:
    """The most the Jaro-Winkler similarity of each pair of present values
    can be. Jaro counts the characters the two share (m): at most either's
    length less its characters the other lacks (each there once at least).
    Winkler adds at most 0.4 of what Jaro misses, nothing when the first
    characters differ."""
    assert x.letters is not None, "a text measured by similarity"
    assert y.letters is not None, "a text measured by similarity"
    length_x, length_y = x.length[a], y.length[b]
    letters_x, letters_y = x.letters[a], y.letters[b]
    shared = np.minimum(
        length_x - np.bitwise_count(letters_x & ~letters_y),
        length_y - np.bitwise_count(letters_y & ~letters_x),
    )
    jaro = np.where(shared > 0, (shared / length_x + shared / length_y + 1) / 3, 0.0)
    ceiling: Floats = np.where(x.first[a] == y.first[b], jaro + 0.4 * (1 - jaro), jaro)
    return ceiling


def _letters(values: Sequence[str | None]) -> npt.NDArray[np.uint32]:
    """Each value's characters as a set of bits: a character's code point
    modulo 32 (each of the 26 ASCII letters has its own; two characters that
    share a bit only hide a difference)."""
    texts = [v or "" for v in values]
    lengths = np.array([len(t) for t in texts], dtype=np.int64)
    points = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
    bits = np.left_shift(np.uint32(1), points % 32, dtype=np.uint32)
    found = np.zeros(len(texts), dtype=np.uint32)
    filled = lengths > 0
    if filled.any():
        found[filled] = np.bitwise_or.reduceat(bits, (np.cumsum(lengths) - lengths)[filled])
    return found


MORE_EDITS = 3  # what `_Measure.osa` gives any distance over two
_BINS = 16  # a character's bin: its code point modulo this


def _bags(values: Sequence[str | None]) -> npt.NDArray[np.uint8]:
    """Each value's count of characters in each bin (at most 255). Two values
    whose counts differ by k characters one way or the other are at least k
    edits apart: an insertion, deletion or substitution moves at most one
    character in or out, a transposition none; a shared bin or a capped count
    only hides differences."""
    texts = [v or "" for v in values]
    points = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
    owner = np.repeat(np.arange(len(texts)), [len(t) for t in texts])
    counts = np.bincount(owner * _BINS + points % _BINS, minlength=len(texts) * _BINS)
    bags: npt.NDArray[np.uint8] = np.minimum(counts, 255).astype(np.uint8).reshape(-1, _BINS)
    return bags


def _bag_distance(x: npt.NDArray[np.uint8], y: npt.NDArray[np.uint8]) -> Ints:
    """The fewest edits the characters' counts of pairs of values allow (`_bags`)."""
    difference = x.astype(np.int16) - y
    more = np.maximum(difference, 0).sum(axis=1)
    fewer = np.maximum(-difference, 0).sum(axis=1)
    found: Ints = np.maximum(more, fewer).astype(np.int64)
    return found


def _distinct(x: _Text, a: Ints, y: _Text, b: Ints) -> tuple[tuple[Ints, Ints], Ints]:
    """The pairs (a, b) with distinct pairs of values (as record indices), and
    where each pair's value pair is among them."""
    keys = (x.code[a] << 31) | y.code[b]  # codes are below 2**31
    # Any pair of a value pair stands for it: an unstable sort will do (`np.unique`
    # asks for the first, a stable sort: 12 of the million's 77 s of bounding).
    order = np.argsort(keys)
    ordered = keys[order]
    starts = np.empty(len(keys), dtype=np.bool_)
    starts[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
    back = np.empty(len(keys), dtype=np.int64)
    back[order] = np.cumsum(starts) - 1
    first = order[starts]
    return (a[first], b[first]), back


class _Ceilings(_Measure):
    """Measures no string: each similarity comes as its ceiling."""

    def jaro_winkler(self, x: _Text, a: Ints, y: _Text, b: Ints, least: float) -> Floats:
        return super().jaro_winkler(x, a, y, b, math.inf)  # every ceiling is below it

    def osa(self, x: _Text, a: Ints, y: _Text, b: Ints) -> Ints:
        raise NotImplementedError("edits have no ceiling here: see `_CEILED`")


_MEASURE = _Measure()
_CEILINGS = _Ceilings()
_CEILED = ("city", "names", "address")  # the comparisons `_CEILINGS` bounds (no edits)
# The comparisons whose bounds a measure tightens, in the order that drops
# the most pairs soonest for the time (measured on a million records).
_MEASURED = ("personal_id", "birth_date", "city", "names", "address")
_Part = Callable[[Ints, Ints, _Measure], Floats]
