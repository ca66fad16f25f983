"""The comparisons of the match model, declared once: each has ordered levels
(most agreeing first) and an implicit last level, "different", and one small
function that finds a pair's level. Both executors (batch and online) call
`Comparison.level`, so a pair gets the same levels either way.

A comparison is null (no evidence either way) when either record lacks the value.
A level's function asks each question once (a pair's name similarity, its ids'
fewest edits), not once per level: training and scoring compare hundreds of
thousands of pairs, a third of the time it took level by level.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, TypeVar

from rapidfuzz.distance import OSA, JaroWinkler

from resolvers.features import Features
from resolvers.names import gendered_pair
from resolvers.nicknames import same_given_name

Compare = Callable[[Features, Features], int | None]  # a pair's level (None: null)
Test = Callable[[Features, Features], bool]
DIFFERENT = "different"
# Jaro-Winkler similarities: each level's threshold (`resolvers.bounds` reads them too).
NAME_CLOSE = (0.92, 0.80)  # the name levels are numbered for two (here and in the bounds)
ADDRESS_CLOSE = (0.90, 0.70)
CITY_CLOSE = (0.90,)
CROSSED_CLOSE = 0.85  # given and family names written the other way round


@dataclass(frozen=True)
class Comparison:
    """One attribute's comparison: its levels' labels (without "different")
    and `level`, which gives a pair's level. With term frequencies, the exact
    level's weight is adjusted by how common the agreed value is (a rare name
    says more): `tf_of` gives a record's values (to count), `tf_value` a pair's
    agreed value."""

    name: str
    agreeing: tuple[str, ...]
    level: Compare  # the index of the first level the pair reaches; None when null
    tf_value: Callable[[Features, Features], str | None] | None = None
    tf_of: Callable[[Features], tuple[str, ...]] = lambda f: ()
    agreed: Callable[[Features, Features], set[str]] | None = None  # shared identifier keys
    # Compares identifiers: records linked deterministically agree on these by
    # construction, so they say nothing of how true matches compare here.
    identifier: bool = False

    @property
    def labels(self) -> tuple[str, ...]:
        return (*self.agreeing, DIFFERENT)


def _jw(a: str, b: str) -> float:
    return float(JaroWinkler.similarity(a, b))


def _close(similarity: float, thresholds: Sequence[float], first: int) -> int | None:
    """The level of the first threshold the similarity reaches (counted from
    `first`); None when it reaches none."""
    for level, threshold in enumerate(thresholds, first):
        if similarity >= threshold:
            return level
    return None


def _jw_labels(thresholds: Sequence[float]) -> tuple[str, ...]:
    return tuple(f"jaro_winkler>={t:.2f}" for t in thresholds)


# Given and family names both ask whether a pair's names are crossed: the
# answer is remembered for the last pair. A plain dict, not a thread-local: one
# read or write of an entry is atomic, and an answer is used only for the very
# objects it was computed for (which the entry keeps alive), so threads only
# evict each other's.
_last_pair: dict[str, tuple[Any, Any, Any]] = {}

T = TypeVar("T")
U = TypeVar("U")
R = TypeVar("R")


def _once(slot: str, compute: Callable[[T, U], R], x: T, y: U) -> R:
    """`compute(x, y)`, remembered for the last (x, y) asked in this slot."""
    cached = _last_pair.get(slot)
    if cached is not None and cached[0] is x and cached[1] is y:
        found: R = cached[2]
        return found
    found = compute(x, y)
    _last_pair[slot] = (x, y, found)
    return found


def _swapped(a: Features, b: Features) -> bool:
    """Given and family name written the other way round on one side (a typo
    allowed in each): crossed, they agree better than straight."""
    return _once("swapped", _crossed, a, b)


def _crossed(a: Features, b: Features) -> bool:
    if not (a.given and b.given and a.family_last and b.family_last):
        return False
    if a.given == b.given or a.family_last == b.family_last:
        return False  # straight agrees exactly: nothing crossed can beat it
    first = _jw(a.given, b.family_last)
    if first < CROSSED_CLOSE:
        return False
    crossed = min(first, _jw(b.given, a.family_last))
    straight = max(_jw(a.given, b.given), _jw(a.family_last, b.family_last))
    return crossed >= CROSSED_CLOSE and crossed > straight


def given_pair(a: Features, b: Features) -> tuple[str, str]:
    assert a.given is not None
    assert b.given is not None
    return (a.given, b.family_last or b.given) if _swapped(a, b) else (a.given, b.given)


def _given_name(a: Features, b: Features) -> int | None:
    """Exact, a nickname, close (never a gendered pair: Agustín and Agustina),
    an initial, different."""
    if a.given is None or b.given is None:
        return None
    x, y = given_pair(a, b)
    if x == y:
        return 0
    if same_given_name(x, y):
        return 1
    if not gendered_pair(x, y):
        close = _close(_jw(x, y), NAME_CLOSE, 2)
        if close is not None:
            return close
    return 4 if (len(x) == 1 or len(y) == 1) and x[0] == y[0] else 5


def _family_words(a: Features, b: Features) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if _swapped(a, b):
        return (a.family_last or "",), (b.given or "",)
    return a.family, b.family


def _family_name(a: Features, b: Features) -> int | None:
    """The same words, a word shared (a dropped second surname), the closest
    two words close, an initial ("Camille S."), different."""
    if not (a.family and b.family):
        return None
    left, right = _family_words(a, b)
    if left == right:
        return 0
    if not set(left).isdisjoint(right):
        return 1
    close = _close(max(_jw(x, y) for x in left for y in right), NAME_CLOSE, 2)
    if close is not None:
        return close
    return 4 if _family_initial(left, right) else 5


def _family_exact(a: Features, b: Features) -> bool:
    left, right = _family_words(a, b)
    return not set(left).isdisjoint(right)


def _family_tf(a: Features, b: Features) -> str | None:
    left, right = _family_words(a, b)
    return " ".join(left) if left == right else None


def _family_initial(left: tuple[str, ...], right: tuple[str, ...]) -> bool:
    words = (*left, *right)
    first = [w for w in words if len(w) == 1]
    return bool(first) and any(len(w) > 1 and w[0] == first[0] for w in words)


def _birth_date(a: Features, b: Features) -> int | None:
    """Exact, one typo, day and month swapped, two typos, different."""
    x, y = a.birth_date, b.birth_date
    if x is None or y is None:
        return None
    if x == y:
        return 0
    edits = OSA.distance(x, y)
    if edits <= 1:
        return 1
    if x[:4] == y[:4] and x[4:6] == y[6:8] and x[6:8] == y[4:6]:
        return 2
    return 3 if edits <= 2 else 4


def _personal_id(a: Features, b: Features) -> int | None:
    """The fewest edits between two ids of the same type: none, one, two, more."""
    if not (a.ids and b.ids):
        return None
    # The same id: no edits to count (six in ten of the 1M set's scored pairs;
    # 0.43 s against 0.64 s for their 282,162 personal-id comparisons).
    if not a.ids.isdisjoint(b.ids):
        return 0
    edits = min(
        (OSA.distance(x, y) for tx, x in a.ids for ty, y in b.ids if tx == ty), default=math.inf
    )
    return 3 if edits > 2 else int(edits)


def _equal(field: str) -> Compare:
    """Exact, different."""
    value = attrgetter(field)

    def compare(a: Features, b: Features) -> int | None:
        x, y = value(a), value(b)
        if x is None or y is None:
            return None
        return 0 if x == y else 1

    return compare


def _similar(field: str, thresholds: tuple[float, ...]) -> Compare:
    """Exact, then close at each threshold, different."""
    value = attrgetter(field)

    def compare(a: Features, b: Features) -> int | None:
        x, y = value(a), value(b)
        if x is None or y is None:
            return None
        if x == y:
            return 0
        close = _close(_jw(x, y), thresholds, 1)
        return len(thresholds) + 1 if close is None else close

    return compare


def _first_of(present: Callable[[Features], bool], *tests: Test) -> Compare:
    """The first test the pair passes, when both records have the values."""

    def compare(a: Features, b: Features) -> int | None:
        if not (present(a) and present(b)):
            return None
        for level, test in enumerate(tests):
            if test(a, b):
                return level
        return len(tests)

    return compare


def _digits(phone: str) -> str:
    return phone.lstrip("+")


def _made_of_names(tokens: frozenset[str], a: Features, b: Features) -> frozenset[str]:
    """The tokens (handles, email local parts) that are not just the records'
    names written as a handle: "rosaiglesias" agrees for every Rosa Iglesias,
    and "anaiglesias" for every "Ana I."."""
    return frozenset(t for t in tokens - a.name_forms - b.name_forms
                     if not (_name_like(t, a) or _name_like(t, b)))  # fmt: skip


def _name_like(token: str, f: Features) -> bool:
    """The given name followed by a word starting with the family initial."""
    if not (f.given and f.family_last and len(f.family_last) == 1):
        return False
    rest = token.removeprefix(f.given).lstrip("._-")
    return rest != token and rest.startswith(f.family_last)


def _same_local_part(a: Features, b: Features) -> bool:
    return bool(_made_of_names(a.email_locals & b.email_locals, a, b))


def _same_handle(a: Features, b: Features) -> bool:
    return bool(_made_of_names(a.handles & b.handles, a, b))


def _handle_is_local_part(a: Features, b: Features) -> bool:
    crossed = (a.handles & b.email_locals) | (b.handles & a.email_locals)
    return bool(_made_of_names(crossed, a, b))


def _handle_of_other_name(a: Features, b: Features) -> bool:
    """One side's handle or email local part is the other's whole name, and the
    names themselves do not agree already (else that evidence counts twice)."""
    return _made_of(a, b, full=True) and not _family_exact(a, b)


def _handle_of_other_initials(a: Features, b: Features) -> bool:
    """As above, with an initial: "simonc", "csimon" for Camille Simon."""
    return _made_of(a, b, full=False) and not _family_exact(a, b)


def _made_of(a: Features, b: Features, *, full: bool) -> bool:
    forms_a = a.full_name_forms if full else a.name_forms
    forms_b = b.full_name_forms if full else b.name_forms
    return not (a.handles | a.email_locals).isdisjoint(forms_b) or not (
        b.handles | b.email_locals
    ).isdisjoint(forms_a)


COMPARISONS: tuple[Comparison, ...] = (
    Comparison(
        "given_name",
        ("exact", "nickname", *_jw_labels(NAME_CLOSE), "initial"),
        _given_name,
        tf_value=lambda a, b: given_pair(a, b)[0] if _given_name(a, b) == 0 else None,
        tf_of=lambda f: (f.given,) if f.given else (),
    ),
    Comparison(
        "family_name",
        ("exact", "one_word_shared", *_jw_labels(NAME_CLOSE), "initial"),
        _family_name,
        tf_value=_family_tf,
        tf_of=lambda f: (" ".join(f.family),) if f.family else (),
    ),
    Comparison("birth_date", ("exact", "one_typo", "day_month_swapped", "two_typos"), _birth_date),
    Comparison(
        "personal_id",
        ("exact", "one_typo", "two_typos"),
        _personal_id,
        agreed=lambda a, b: {f"{t}:{v}" for t, v in a.ids & b.ids},
        identifier=True,
    ),
    Comparison(
        "street_number",
        ("exact",),
        _equal("street_number"),
        tf_value=lambda a, b: a.street_number if a.street_number == b.street_number else None,
        tf_of=lambda f: (f.street_number,) if f.street_number else (),
    ),
    Comparison(
        "address", ("exact", *_jw_labels(ADDRESS_CLOSE)), _similar("address", ADDRESS_CLOSE)
    ),
    Comparison(
        "postcode",
        # No typo level: neighbouring postcodes of one city are one typo apart.
        ("exact",),
        _equal("postcode"),
        tf_value=lambda a, b: a.postcode if a.postcode == b.postcode else None,
        tf_of=lambda f: (f.postcode,) if f.postcode else (),
    ),
    Comparison(
        "city",
        ("exact", *_jw_labels(CITY_CLOSE)),
        _similar("city", CITY_CLOSE),
        tf_value=lambda a, b: a.city if a.city == b.city else None,
        tf_of=lambda f: (f.city,) if f.city else (),
    ),
    Comparison(
        "email",
        ("exact", "same_local_part"),
        _first_of(
            lambda f: bool(f.emails),
            lambda a, b: not a.emails.isdisjoint(b.emails),
            _same_local_part,
        ),
        agreed=lambda a, b: {f"email:{e}" for e in a.emails & b.emails},
        identifier=True,
    ),
    Comparison(
        "phone",
        ("exact", "same_last_8_digits"),
        _first_of(
            lambda f: bool(f.phones),
            lambda a, b: not a.phones.isdisjoint(b.phones),
            lambda a, b: any(
                len(x) >= 8 and _digits(x)[-8:] == _digits(y)[-8:]
                for x in a.phones
                for y in b.phones
            ),
        ),
        agreed=lambda a, b: {f"phone:{p}" for p in a.phones & b.phones},
        identifier=True,
    ),
    Comparison(
        "handle",
        (
            "same_handle",
            "handle_is_email_local_part",
            "made_of_the_name",
            "made_of_the_name_with_an_initial",
        ),
        _first_of(
            lambda f: bool(f.handles or f.emails),
            _same_handle,
            _handle_is_local_part,
            _handle_of_other_name,
            _handle_of_other_initials,
        ),
        identifier=True,
    ),
    Comparison(
        "ip",
        ("shared",),
        _first_of(lambda f: bool(f.ips), lambda a, b: not a.ips.isdisjoint(b.ips)),
    ),
)


def comparison_index(name: str) -> int:
    """The position of the comparison called `name` in `COMPARISONS`."""
    return next(i for i, c in enumerate(COMPARISONS) if c.name == name)


def comparison_vector(a: Features, b: Features) -> tuple[int | None, ...]:
    """Each comparison's level for a pair (None: null)."""
    return tuple([compare(a, b) for compare in _COMPARES])


_COMPARES = tuple(c.level for c in COMPARISONS)
assert len(NAME_CLOSE) == 2, "renumber the name levels"
