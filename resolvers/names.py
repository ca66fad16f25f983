"""Person-name folding shared by every resolver: accents, case and punctuation
are noise; tokens are what two spellings of one name have in common."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_NON_WORD = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lower-case ASCII without accents, words separated by single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", ascii_only).strip()


def tokens(name: str) -> frozenset[str]:
    """The name's words of two letters or more (initials say too little)."""
    return frozenset(t for t in fold(name).split() if len(t) >= 2)


def may_be_same_person(a: str, b: str) -> bool:
    """True unless the two names share no word at all ("Carlos F." ~ "Carlos Francavilla")."""
    left, right = tokens(a), tokens(b)
    return not left or not right or bool(left & right)


def count_people(names: list[str]) -> int:
    """How many different people a list of names shows at least (greedy grouping)."""
    groups: list[frozenset[str]] = []
    for name in names:
        words = tokens(name)
        if not words:
            continue
        for index, group in enumerate(groups):
            if group & words:
                groups[index] = group | words
                break
        else:
            groups.append(words)
    return len(groups)
