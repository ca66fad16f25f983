"""Person-name comparison shared by every resolver: accents, case, punctuation,
titles and word order are noise; the given name tells people apart.

`may_be_same_person` is deliberately lenient (nicknames, initials, one typo,
handles made of the name): it decides when a shared value shows *different*
people, and a wrong "different" only costs a link, never merges two people.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from rapidfuzz.distance import OSA

from resolvers.nicknames import same_given_name

_NON_WORD = re.compile(r"[^a-z0-9]+")
_TITLES = frozenset(
    [
        "sr",
        "sra",
        "srta",
        "don",
        "dona",
        "dr",
        "dra",
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "m",
        "mme",
        "mlle",
        "prof",
        "ing",
        "lic",
    ]
)


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lower-case ASCII without accents, words separated by single spaces."""
    if text.isascii():  # most names and addresses: nothing to decompose
        return _NON_WORD.sub(" ", text.lower()).strip()
    return unicode_fold(text)


def unicode_fold(text: str) -> str:
    """`fold` by Unicode decomposition, for any text (the ASCII shortcut's reference)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", ascii_only).strip()


@lru_cache(maxsize=65536)
def words(name: str) -> tuple[str, ...]:
    """The name's folded words, given name first ("González, José" reordered),
    titles dropped."""
    if name.count(",") == 1:
        family, given = name.split(",")
        name = f"{given} {family}"
    return without_titles(fold(name).split())


def without_titles(folded: Iterable[str]) -> tuple[str, ...]:
    """Folded words less the titles among them ("dr", "sra", "m"…)."""
    return tuple(w for w in folded if w not in _TITLES)


def _given_names_match(a: str, b: str) -> bool:
    if a == b or same_given_name(a, b):
        return True
    if len(a) == 1 or len(b) == 1:  # an initial: "J. Smith", "J-P"
        return a[0] == b[0]
    if gendered_pair(a, b):
        return False
    return min(len(a), len(b)) >= 4 and OSA.distance(a, b) <= 1  # one typo


def _family_names_match(left: tuple[str, ...], right: tuple[str, ...]) -> bool:
    """Some family word in common (or an initial of it, or one typo away); a name
    with no family word says nothing. "María López" and "María Russo" differ."""
    if not left or not right:
        return True
    return any(_words_match(x, y) for x in left for y in right)


def _words_match(a: str, b: str) -> bool:
    if len(a) == 1 or len(b) == 1:
        return a[0] == b[0]
    return a == b or (min(len(a), len(b)) >= 4 and OSA.distance(a, b) <= 1)


def gendered_pair(a: str, b: str) -> bool:
    """Agustín/Agustina, Francisco/Francisca, Daniel/Danielle: one letter apart,
    and two people (often of one family), not a typo. One name is no pair."""
    if a == b:
        return False
    short, long = sorted((a, b), key=len)
    if long in (short + "a", short + "e", short + "le", short + "ne"):
        return True
    return len(a) == len(b) and a[:-1] == b[:-1] and "a" in (a[-1], b[-1])


def _handle_of(single: str, other: tuple[str, ...]) -> bool:
    """A one-word name made of the other's words: "cfrancavilla", "carlosf"."""
    given, family = other[0], other[-1]
    return single in (given + family, given[0] + family, given + family[0], family + given)


def may_be_same_person(a: str, b: str) -> bool:
    """False only when the names show two different people: different given
    names, or the same given name with different family names."""
    return may_be_same_words(words(a), words(b))


def may_be_same_words(left: tuple[str, ...], right: tuple[str, ...]) -> bool:
    """`may_be_same_person` of two names' `words`."""
    if not left or not right:
        return True
    if _given_names_match(left[0], right[0]):
        return _family_names_match(left[1:], right[1:])
    if len(left) == 1 and len(right) > 1:
        return _handle_of(left[0], right) or left[0] in right[1:]
    if len(right) == 1 and len(left) > 1:
        return _handle_of(right[0], left) or right[0] in left[1:]
    # Family name first on one side: "Gonzalez Perez Jose" ~ "Jose Gonzalez".
    return left[0] in right[1:] and right[0] in left[1:]


def count_people(names: list[str]) -> int:
    """How many different people a list of names shows at least (greedy
    grouping, in the order given: the order records were stored in, which
    a bulk load keeps)."""
    groups: list[list[str]] = []
    for name in dict.fromkeys(names):
        if not words(name):
            continue
        for group in groups:
            if any(may_be_same_person(name, member) for member in group):
                group.append(name)
                break
        else:
            groups.append([name])
    return len(groups)
