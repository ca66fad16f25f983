"""Name comparison: when a shared value shows different people."""

from __future__ import annotations

import pytest

from resolvers.features import features
from resolvers.names import count_people, fold, may_be_same_person, unicode_fold, words
from resolvers.probabilistic import name_words


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Carlos F.", "Carlos Francavilla", True),
        ("carlos", "Carlos Francavilla", True),
        ("cfrancavilla", "Carlos Francavilla", True),  # a handle made of the name
        ("Pepe Gonzalez", "José González Pérez", True),  # nickname, accents
        ("Paco", "Francisco Ruiz", True),
        ("Bob Smith", "Robert Smith", True),
        ("J-P Martin", "Jean-Pierre Martin", True),  # initials
        ("Micaella Torres", "Micaela Torres", True),  # one typo
        ("González Pérez, José", "José González", True),  # "Family, Given"
        ("Mr. John Smith", "john smith", True),  # titles
        ("", "Anyone", True),  # no name says nothing
        ("Antoine Simon", "Camille Simon", False),  # a family: same surname
        ("David Garcia", "Jennifer Hernandez", False),
        ("Ana", "Eva", False),  # short names: no typo tolerance
        ("Agustín Acosta", "Agustina Acosta", False),  # one letter, two people
        ("Francisco Ruiz", "Francisca Ruiz", False),
        ("Daniel Martin", "Danielle Martin", False),
        ("María López", "María Russo", False),  # same given name, another family
        ("J PDubois", "Julie Morel", False),  # an initial is not enough across families
        ("J PDubois", "Jean-Pierre Dubois", True),
    ],
)
def test_may_be_same_person(a: str, b: str, same: bool) -> None:
    assert may_be_same_person(a, b) is same
    assert may_be_same_person(b, a) is same


def test_fold_drops_accents_case_and_punctuation() -> None:
    assert fold("  José-María  O'Brien ") == "jose maria o brien"


@pytest.mark.parametrize(
    "text",
    ["  Jean-Pierre O'Brien ", "26 MOUNTAIN circuit, manor park", "", "a_b\tc~d", "X Æ A-12"],
)
def test_fold_of_plain_ascii_is_the_full_fold(text: str) -> None:
    """ASCII text takes a shortcut (no Unicode decomposition); it must not differ."""
    assert fold(text) == unicode_fold(text)


@pytest.mark.parametrize(
    ("names", "people"),
    [
        (["Carlos Francavilla", "Carlos F.", "carlos", "cfrancavilla"], 1),
        (["Antoine Simon", "Camille Simon", "camille"], 2),
        (["Ana Pérez", "Pierre Martin", "John Smith", "", "ana"], 3),
    ],
)
def test_count_people(names: list[str], people: int) -> None:
    assert count_people(names) == people


@pytest.mark.parametrize(
    ("name", "handle"),
    [
        ("Lucía M.", None),  # a trailing initial is kept, though it reads as a title
        ("Dr. José González Pérez", None),
        ("González Pérez, José", None),
        ("Carlos F.", "cfrancavilla"),  # the family name read from the handle
        ("Zoë F.", "zfærøy"),  # folded, not one word: none
        ("Ana F.", "afrançois"),  # folded: "francois"
        ("Mr M", None),
        ("  ", None),
    ],
)
def test_a_records_name_words_are_its_names_words(name: str, handle: str | None) -> None:
    """The conflict checks read a record's name from its features' words; they
    must be what `words` makes of the name those words spell."""
    found = features("r", name, {}, [("twitter", handle)] if handle else [])
    spelled = " ".join((found.given or "", *found.family))
    assert name_words(found) == words(spelled)
