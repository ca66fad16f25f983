"""What the match model compares of a record: its name split into given and
family names, the attributes people share (birth date, address, postcode,
city), and its identifiers grouped by type. Built once per record, from a parsed
record or from the graph, so both executors compare exactly the same values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from graph.model import pickled_by_fields, quick_init
from resolvers.identifiers import SOCIAL_NETWORKS
from resolvers.names import fold, words

_DIGITS = re.compile(r"\d+")
_NONE: frozenset[Any] = frozenset()
_NOT_SHARED: Mapping[str, int] = {}
T = TypeVar("T")
# Identifier types compared as people's own ids (a typo-tolerant comparison).
ID_TYPES = ("national_id", "account", "employee_id")


# Pickled by its fields (`resolvers.batch.features_of` sends them between
# processes): unpickling 6.7 µs a record, against 9.3 µs for dataclasses' own.
@pickled_by_fields
@quick_init
@dataclass(frozen=True, slots=True)
class Features:
    """The comparable view of one record; every text is folded (lower-case ASCII)."""

    key: str
    given: str | None
    family: tuple[str, ...]
    family_last: str | None  # the last family word (the one handles use most)
    birth_date: str | None
    address: str | None
    street_number: str | None
    postcode: str | None
    city: str | None
    emails: frozenset[str]
    phones: frozenset[str]
    ids: frozenset[tuple[str, str]]  # (type, value) of ID_TYPES
    handles: frozenset[str]  # bare handles of any network
    email_locals: frozenset[str]  # the emails' local parts (compared pair by pair)
    ips: frozenset[str]
    shared_by: Mapping[str, int]  # generic values ("type:value") -> people seen on them
    name_forms: frozenset[str]  # handles the name makes: "cfrancavilla", "carlos.francavilla"
    full_name_forms: frozenset[str]  # those made of the whole given and family names


def features(
    key: str,
    name: str | None,
    attributes: Mapping[str, str],
    identifiers: Iterable[tuple[str, str]],
    shared_by: Mapping[str, int] | None = None,
) -> Features:
    """The features of a record from its name, attributes and (type, value) identifiers
    (identifier values already normalised); `shared_by` gives the people seen on
    its generic values."""
    name_words = _name_words(name)
    by_type: dict[str, set[str]] = {}
    for type_, value in identifiers:
        by_type.setdefault(type_, set()).add(value)
    # Only the types the record has are looked at: most have one or two.
    handles = _frozen(h.lower() for t, vs in by_type.items() if t in SOCIAL_NETWORKS for h in vs)
    emails = by_type.get("email")
    locals_ = _frozen(e.split("@", 1)[0] for e in emails) if emails else _NONE
    name_words = _family_from_handles(name_words, handles, locals_)
    address = _text(attributes.get("address"))
    return Features(
        key=key,
        given=name_words[0] if name_words else None,
        family=name_words[1:],
        family_last=name_words[-1] if len(name_words) > 1 else None,
        birth_date=_date(attributes.get("birth_date")),
        address=address,
        street_number=_street_number(address),
        postcode=_text(attributes.get("postcode")),
        city=_text(attributes.get("city")),
        emails=_frozen(emails),
        phones=_frozen(by_type.get("phone")),
        ids=_ids(by_type),
        handles=handles,
        email_locals=locals_,
        ips=_frozen(by_type.get("ip")),
        # One empty mapping for the many records without generic values
        # (a million empty dicts took 64 MB); nothing writes to it.
        shared_by=dict(shared_by) if shared_by else _NOT_SHARED,
        # Only handle comparisons read these, and only between records that
        # both have handles or emails.
        name_forms=_name_forms(name_words, initials=True) if handles or locals_ else _NONE,
        full_name_forms=_name_forms(name_words, initials=False) if handles or locals_ else _NONE,
    )


def _ids(by_type: dict[str, set[str]]) -> frozenset[tuple[str, str]]:
    """The (type, value) of the record's personal ids (`ID_TYPES`)."""
    if by_type.keys().isdisjoint(ID_TYPES):
        return _NONE
    return frozenset((t, v) for t in ID_TYPES if t in by_type for v in by_type[t])


def _frozen(values: Iterable[T] | None) -> frozenset[T]:
    """The values as a frozenset; the one empty frozenset when there are none."""
    found = frozenset(values) if values is not None else _NONE
    return found or _NONE


def _name_words(name: str | None) -> tuple[str, ...]:
    """The name's words; a trailing initial is kept even where it reads as a
    title ("Lucía M." is not Lucía, Monsieur)."""
    if not name:
        return ()
    found = words(name)
    if len(found) != 1:
        return found
    raw = fold(name).split()
    if len(raw) == 2 and len(raw[1]) == 1 and found == (raw[0],):
        return (raw[0], raw[1])
    return found


def _family_from_handles(
    name_words: tuple[str, ...], handles: frozenset[str], email_locals: frozenset[str]
) -> tuple[str, ...]:
    """ "Carlos F." with the handle "cfrancavilla" is Carlos Francavilla: a family
    name written as an initial is read from a handle or email local part made
    of the given name (or its initial) and a word starting with that initial."""
    if len(name_words) != 2 or len(name_words[1]) != 1:
        return name_words
    given, initial = name_words
    for token in sorted(handles | email_locals):
        for prefix in (given, given[0]):
            rest = token.removeprefix(prefix).lstrip("._-")
            if rest == token:
                continue
            word = fold(rest)  # one folded word, as the name's other words
            if word.startswith(initial) and len(word) > 2 and word.isalpha():
                return (given, word)
    return name_words


def _name_forms(name_words: tuple[str, ...], *, initials: bool) -> frozenset[str]:
    """Given name with each family word (or all of them run together: "obrien"),
    either order, joined by nothing, ".", "_" or "-"; with initials if asked."""
    if len(name_words) < 2:
        return frozenset()
    given, family_words = name_words[0], name_words[1:]
    pairs = []
    for family in {*family_words, "".join(family_words)}:
        pairs += [(given, family), (family, given)]
        if initials:
            pairs += [(given[0], family), (given, family[0])]
    return frozenset(x + sep + y for x, y in pairs for sep in ("", ".", "_", "-"))


def _text(value: str | None) -> str | None:
    folded = fold(value) if value else ""
    return folded or None


def _date(value: str | None) -> str | None:
    """An ISO date's digits (YYYYMMDD), or None when it is not a date."""
    digits = "".join(_DIGITS.findall(value or ""))
    return digits if len(digits) == 8 else None


def _street_number(address: str | None) -> str | None:
    found = _DIGITS.search(address or "")
    return found.group() if found else None
