"""The comparisons of the match model, declared once: each has ordered levels
(most agreeing first) and an implicit last level, "different". Both executors
(batch and online) call `compare`, so a pair gets the same levels either way.

A comparison is null (no evidence either way) when either record lacks the value.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar, cast

from rapidfuzz.distance import OSA, JaroWinkler

from resolvers.features import Features
from resolvers.names import gendered_pair
from resolvers.nicknames import same_given_name

Test = Callable[[Features, Features], bool]
DIFFERENT = "different"


@dataclass(frozen=True)
class Level:
    label: str
    test: Test


@dataclass(frozen=True)
class Comparison:
    """One attribute's comparison. With term frequencies, the exact level's weight
    is adjusted by how common the agreed value is (a rare name says more):
    `tf_of` gives a record's values (to count), `tf_value` a pair's agreed value."""

    name: str
    present: Callable[[Features], bool]
    levels: tuple[Level, ...]
    tf_value: Callable[[Features, Features], str | None] | None = None
    tf_of: Callable[[Features], tuple[str, ...]] = lambda f: ()
    agreed: Callable[[Features, Features], set[str]] | None = None  # shared identifier keys
    # Compares identifiers: records linked deterministically agree on these by
    # construction, so they say nothing of how true matches compare here.
    identifier: bool = False

    @property
    def labels(self) -> tuple[str, ...]:
        return (*(level.label for level in self.levels), DIFFERENT)

    def level(self, a: Features, b: Features) -> int | None:
        """The index of the first level the pair reaches; None when null."""
        if not (self.present(a) and self.present(b)):
            return None
        index = 0
        for level in self.levels:
            if level.test(a, b):
                return index
            index += 1
        return index


def _jw(a: str, b: str) -> float:
    return float(JaroWinkler.similarity(a, b))


_last_pair = threading.local()  # the levels of one pair ask the same things again

T = TypeVar("T")
U = TypeVar("U")
R = TypeVar("R")


def _once(slot: str, compute: Callable[[T, U], R], x: T, y: U) -> R:
    """`compute(x, y)`, remembered for the last (x, y) asked in this slot."""
    cached = getattr(_last_pair, slot, None)
    if cached is not None and cached[0] is x and cached[1] is y:
        return cast(R, cached[2])
    found = compute(x, y)
    setattr(_last_pair, slot, (x, y, found))
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
    if first < 0.85:
        return False
    crossed = min(first, _jw(b.given, a.family_last))
    straight = max(_jw(a.given, b.given), _jw(a.family_last, b.family_last))
    return crossed >= 0.85 and crossed > straight


def given_pair(a: Features, b: Features) -> tuple[str, str]:
    assert a.given is not None
    assert b.given is not None
    return (a.given, b.family_last or b.given) if _swapped(a, b) else (a.given, b.given)


def _given_exact(a: Features, b: Features) -> bool:
    x, y = given_pair(a, b)
    return x == y


def _given_jw(threshold: float) -> Test:
    """Close given names, but never a gendered pair (Agustín and Agustina)."""

    def test(a: Features, b: Features) -> bool:
        x, y = given_pair(a, b)
        return _once("jw", _jw, x, y) >= threshold and not gendered_pair(x, y)

    return test


def _initial(a: Features, b: Features) -> bool:
    x, y = given_pair(a, b)
    return (len(x) == 1 or len(y) == 1) and x[0] == y[0]


def _family_words(a: Features, b: Features) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if _swapped(a, b):
        return (a.family_last or "",), (b.given or "",)
    return a.family, b.family


def _family_exact(a: Features, b: Features) -> bool:
    left, right = _family_words(a, b)
    return not set(left).isdisjoint(right)


def _family_jw(threshold: float) -> Test:
    def test(a: Features, b: Features) -> bool:
        left, right = _family_words(a, b)
        return max(_jw(x, y) for x in left for y in right) >= threshold

    return test


def _family_tf(a: Features, b: Features) -> str | None:
    left, right = _family_words(a, b)
    return " ".join(left) if left == right else None


def _family_initial(a: Features, b: Features) -> bool:
    left, right = _family_words(a, b)
    first = [w for w in (*left, *right) if len(w) == 1]
    others = (*left, *right)
    return bool(first) and any(len(w) > 1 and w[0] == first[0] for w in others)


def _osa_at_most(field: Callable[[Features], str | None], edits: int) -> Test:
    def test(a: Features, b: Features) -> bool:
        x, y = field(a), field(b)
        return x is not None and y is not None and OSA.distance(x, y) <= edits

    return test


def _equal(field: Callable[[Features], str | None]) -> Test:
    return lambda a, b: field(a) == field(b)


def _field_jw(field: Callable[[Features], str | None], threshold: float) -> Test:
    def test(a: Features, b: Features) -> bool:
        x, y = field(a), field(b)
        return x is not None and y is not None and _jw(x, y) >= threshold

    return test


def _day_month_swapped(a: Features, b: Features) -> bool:
    x, y = a.birth_date or "", b.birth_date or ""
    return x[:4] == y[:4] and x[4:6] == y[6:8] and x[6:8] == y[4:6]


def _ids_same_type(a: Features, b: Features) -> list[tuple[str, str]]:
    return [(x, y) for (tx, x) in a.ids for (ty, y) in b.ids if tx == ty]


def _ids_within(edits: int) -> Test:
    return lambda a, b: any(OSA.distance(x, y) <= edits for x, y in _ids_same_type(a, b))


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
        lambda f: f.given is not None,
        (
            Level("exact", _given_exact),
            Level("nickname", lambda a, b: same_given_name(*given_pair(a, b))),
            Level("jaro_winkler>=0.92", _given_jw(0.92)),
            Level("jaro_winkler>=0.80", _given_jw(0.80)),
            Level("initial", _initial),
        ),
        tf_value=lambda a, b: given_pair(a, b)[0] if _given_exact(a, b) else None,
        tf_of=lambda f: (f.given,) if f.given else (),
    ),
    Comparison(
        "family_name",
        lambda f: bool(f.family),
        (
            Level("exact", lambda a, b: _family_words(a, b)[0] == _family_words(a, b)[1]),
            Level("one_word_shared", _family_exact),  # a dropped second surname
            Level("jaro_winkler>=0.92", _family_jw(0.92)),
            Level("jaro_winkler>=0.80", _family_jw(0.80)),
            Level("initial", _family_initial),  # "Camille S."
        ),
        tf_value=_family_tf,
        tf_of=lambda f: (" ".join(f.family),) if f.family else (),
    ),
    Comparison(
        "birth_date",
        lambda f: f.birth_date is not None,
        (
            Level("exact", _equal(lambda f: f.birth_date)),
            Level("one_typo", _osa_at_most(lambda f: f.birth_date, 1)),
            Level("day_month_swapped", _day_month_swapped),
            Level("two_typos", _osa_at_most(lambda f: f.birth_date, 2)),
        ),
    ),
    Comparison(
        "personal_id",
        lambda f: bool(f.ids),
        (
            Level("exact", _ids_within(0)),
            Level("one_typo", _ids_within(1)),
            Level("two_typos", _ids_within(2)),
        ),
        agreed=lambda a, b: {f"{t}:{v}" for t, v in a.ids & b.ids},
        identifier=True,
    ),
    Comparison(
        "street_number",
        lambda f: f.street_number is not None,
        (Level("exact", _equal(lambda f: f.street_number)),),
        tf_value=lambda a, b: a.street_number if a.street_number == b.street_number else None,
        tf_of=lambda f: (f.street_number,) if f.street_number else (),
    ),
    Comparison(
        "address",
        lambda f: f.address is not None,
        (
            Level("exact", _equal(lambda f: f.address)),
            Level("jaro_winkler>=0.90", _field_jw(lambda f: f.address, 0.90)),
            Level("jaro_winkler>=0.70", _field_jw(lambda f: f.address, 0.70)),
        ),
    ),
    Comparison(
        "postcode",
        lambda f: f.postcode is not None,
        (
            # No typo level: neighbouring postcodes of one city are one typo apart.
            Level("exact", _equal(lambda f: f.postcode)),
        ),
        tf_value=lambda a, b: a.postcode if a.postcode == b.postcode else None,
        tf_of=lambda f: (f.postcode,) if f.postcode else (),
    ),
    Comparison(
        "city",
        lambda f: f.city is not None,
        (
            Level("exact", _equal(lambda f: f.city)),
            Level("jaro_winkler>=0.90", _field_jw(lambda f: f.city, 0.90)),
        ),
        tf_value=lambda a, b: a.city if a.city == b.city else None,
        tf_of=lambda f: (f.city,) if f.city else (),
    ),
    Comparison(
        "email",
        lambda f: bool(f.emails),
        (
            Level("exact", lambda a, b: not a.emails.isdisjoint(b.emails)),
            Level("same_local_part", _same_local_part),
        ),
        agreed=lambda a, b: {f"email:{e}" for e in a.emails & b.emails},
        identifier=True,
    ),
    Comparison(
        "phone",
        lambda f: bool(f.phones),
        (
            Level("exact", lambda a, b: not a.phones.isdisjoint(b.phones)),
            Level(
                "same_last_8_digits",
                lambda a, b: any(
                    len(x) >= 8 and _digits(x)[-8:] == _digits(y)[-8:]
                    for x in a.phones
                    for y in b.phones
                ),
            ),
        ),
        agreed=lambda a, b: {f"phone:{p}" for p in a.phones & b.phones},
        identifier=True,
    ),
    Comparison(
        "handle",
        lambda f: bool(f.handles or f.emails),
        (
            Level("same_handle", _same_handle),
            Level("handle_is_email_local_part", _handle_is_local_part),
            Level("made_of_the_name", _handle_of_other_name),
            Level("made_of_the_name_with_an_initial", _handle_of_other_initials),
        ),
        identifier=True,
    ),
    Comparison(
        "ip",
        lambda f: bool(f.ips),
        (Level("shared", lambda a, b: not a.ips.isdisjoint(b.ips)),),
    ),
)


def comparison_index(name: str) -> int:
    """The position of the comparison called `name` in `COMPARISONS`."""
    return next(i for i, c in enumerate(COMPARISONS) if c.name == name)


def comparison_vector(a: Features, b: Features) -> tuple[int | None, ...]:
    """Each comparison's level for a pair (None: null)."""
    return tuple(c.level(a, b) for c in COMPARISONS)
