"""Given names that are the same name: diminutives and short forms in Spanish,
French and English. Each line is one name with its usual short forms, folded
(lower-case, no accents); a compound name is listed under its first word
("Jean-Pierre": jean jp). A short form may belong to several names ("alex")."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping

_GROUPS = """
jose pepe pepito chepe chema josema
francisco paco pancho curro fran frank
francisca paca paquita
manuel manolo manu
ignacio nacho
enrique quique kike
jesus chucho chus
guillermo guille memo
alejandro alex ale jandro
alejandra alex ale
alberto beto tito
roberto beto rober
antonio toni tony antoñito
dolores lola loli
concepcion concha conchi
rosario charo
mercedes merche
maria mari maruja
teresa tere
guadalupe lupe
consuelo chelo
carlos charly charlie carlitos
daniel dani dan danny
nicolas nico
santiago santi
sebastian seba sebas
rodrigo rodri
gonzalo gonza
federico fede
eduardo edu lalo
fernando fer nando
ricardo richi
jean jp jb jc jf jl
guillaume guigui
frederic fred
christophe chris
emmanuel manu
dominique dom
robert bob bobby rob robbie
william bill billy will willy
richard rick ricky dick rich
michael mike mikey mick
james jim jimmy jamie
john jack johnny jon
elizabeth liz lizzie beth betty eliza
katherine kate katie kathy cathy
margaret maggie meg peggy
jennifer jen jenny
rebecca becky becca
christopher chris kit
matthew matt
thomas tom tommy
david dave davey
joseph joe joey
edward ed eddie ted
anthony tony
nicholas nick nicky
samuel sam sammy
benjamin ben benny
alexander alex sandy
andrew andy drew
patricia pat patty trish
susan sue susie
victoria vicky tori
"""


def _build() -> dict[str, frozenset[str]]:
    names: dict[str, set[str]] = defaultdict(set)
    for line in _GROUPS.strip().splitlines():
        words = line.split()
        for word in words:
            names[word].update(words)
    return {name: frozenset(group) for name, group in names.items()}


_SAME = _build()


def same_given_name(a: str, b: str) -> bool:
    """True when two folded given names are one name or its short form."""
    return a == b or b in _SAME.get(a, ())


def nickname_pairs(codes: Mapping[str, int]) -> Iterator[tuple[int, int]]:
    """The (code, code) of every two names among `codes` that `same_given_name`
    takes for one (both ways)."""
    for name, code in codes.items():
        for other in _SAME.get(name, ()):
            if other in codes:
                yield code, codes[other]
