"""A seeded, realistic synthetic population as records in the interchange format.

Customers and employees from Argentina, Spain, France, the UK and the US reach
the directory through the channels a telco has (CRM, billing, helpdesk, social
networks, web sessions, call logs, HR and employee activity feeds), each
channel writing names and identifiers its own way. Hard cases are planted in
modest numbers: generic business emails and switchboards shared by several
customers, families sharing an email, changed emails and phones, nicknames and
typos, carrier-grade NAT addresses shared by many unrelated sessions.

Invariants:

- Output depends only on the seed and the sizes: one ``random.Random(seed)``,
  a fixed reference date, no iteration over sets.
- Records carry only the format's fields; the ground truth (which person each
  record belongs to) is returned beside them, never inside.
- Every source id is unique within its source and stable across regenerations.
- The story records (Carlos Francavilla, :data:`STORY_HANDLE`) are always
  present, whatever the seed or the sizes.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import pathlib
import random
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NotRequired, TypedDict

Record = dict[str, object]
Truth = dict[str, str]  # "source/source_id" -> person id

STORY_HANDLE = "@cfrancavilla"  # the README's tweet -> profile story
STORY_PERSON = "cust-000123"
_STORY_SERIAL = 123
_NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # fixed so output never depends on the clock


class Identifier(TypedDict):
    """One identifier of a record, as the format writes it."""

    type: str
    value: str
    seen_at: NotRequired[str]


# --- Data tables -------------------------------------------------------------------------------


def _w(words: str) -> tuple[str, ...]:
    return tuple(words.split())


@dataclass(frozen=True, slots=True)
class _Country:
    code: str
    language: str
    male: tuple[str, ...]
    female: tuple[str, ...]
    surnames: tuple[str, ...]
    compound: float  # share of people written with two surnames
    # city, postcode pattern, landline pattern ("#" is a random digit); the capital first
    cities: tuple[tuple[str, str, str], ...]
    mobiles: tuple[str, ...]  # mobile phone patterns; empty: the city's patterns serve both
    mobile_share: float
    streets: tuple[str, ...]
    domains: tuple[str, ...]  # gmail twice: it is the most common provider everywhere
    ip4: tuple[str, ...]
    ip6: str
    tld: str


_AR = _Country(
    "AR", "es",
    _w("Carlos Juan Martín Diego Facundo Santiago Matías Nicolás Pablo Sebastián Gustavo Hernán "
       "Federico Lucas Ezequiel Julián Tomás Agustín Francisco José Ignacio"),
    _w("María Florencia Camila Lucía Valentina Sofía Agustina Paula Carolina Gabriela Julieta "
       "Micaela Romina Natalia Silvina Mariana Luciana"),
    _w("González Rodríguez Gómez Fernández López Díaz Martínez Pérez García Sánchez Romero Sosa "
       "Álvarez Torres Ruiz Ramírez Flores Benítez Acosta Medina Herrera Aguirre Giménez Rossi "
       "Russo Ferrari Bianchi Romano Colombo Greco Esposito Ricci Marino Costa Fontana Moretti"),
    0.1,
    (("Buenos Aires", "C14##", "+54 11 4###-####"), ("Córdoba", "X50##", "+54 351 4##-####"),
     ("Rosario", "S20##", "+54 341 4##-####"), ("Mendoza", "M55##", "+54 261 4##-####"),
     ("La Plata", "B19##", "+54 221 4##-####"), ("Mar del Plata", "B76##", "+54 223 4##-####")),
    ("+54 9 11 5###-####", "+54 9 11 6###-####", "+54 9 11 3###-####"), 0.5,
    ("Av. Corrientes {n}", "Av. Santa Fe {n}", "Av. Rivadavia {n}", "Av. Cabildo {n}",
     "San Martín {n}", "Belgrano {n}"),
    _w("gmail.com gmail.com hotmail.com yahoo.com.ar fibertel.com.ar speedy.com.ar"),
    ("181.", "190."), "2800:810:", ".com.ar",
)  # fmt: skip
_ES = _Country(
    "ES", "es",
    _w("José Antonio Manuel Francisco Javier David Daniel Carlos Jesús Alejandro Miguel Rafael "
       "Pedro Pablo Sergio Fernando Jorge Alberto Luis Álvaro Iñaki Jordi Ignacio"),
    _w("María Carmen Ana Isabel Laura Cristina Marta Lucía Elena Pilar Rosa Raquel Paula Sara "
       "Nuria Montserrat Begoña Inmaculada"),
    _w("García Fernández González Rodríguez López Martínez Sánchez Pérez Gómez Martín Jiménez "
       "Ruiz Hernández Díaz Moreno Muñoz Álvarez Romero Alonso Gutiérrez Navarro Torres Domínguez "
       "Vázquez Ramos Gil Serrano Blanco Molina Morales Suárez Ortega Delgado Castro Ortiz Rubio "
       "Marín Sanz Iglesias Núñez Garrido Cortés Castillo Lozano Guerrero Prieto Méndez Ibáñez"),
    0.9,
    (("Madrid", "280##", "+34 91 ### ## ##"), ("Barcelona", "080##", "+34 93 ### ## ##"),
     ("Valencia", "460##", "+34 96 ### ## ##"), ("Sevilla", "410##", "+34 954 ## ## ##"),
     ("Bilbao", "480##", "+34 944 ## ## ##"), ("Zaragoza", "500##", "+34 976 ## ## ##"),
     ("Málaga", "290##", "+34 952 ## ## ##")),
    ("+34 6## ### ###",), 0.7,
    ("Calle Mayor, {n}", "Gran Vía, {n}", "Calle de Alcalá, {n}", "Paseo de Gracia, {n}",
     "Avenida de la Constitución, {n}", "Calle Real, {n}"),
    _w("gmail.com gmail.com hotmail.es yahoo.es telefonica.net movistar.es"),
    ("83.", "88."), "2a0c:5a80:", ".es",
)  # fmt: skip
_FR = _Country(
    "FR", "fr",
    _w("Jean Pierre Jean-Pierre Michel Philippe Alain Nicolas Christophe Laurent Julien Thomas "
       "Sébastien Olivier François Mathieu Antoine Guillaume Éric Stéphane Benoît"),
    _w("Marie Nathalie Isabelle Sylvie Catherine Sophie Céline Julie Camille Aurélie Émilie "
       "Claire Hélène Valérie Chloé Léa Manon Margaux"),
    _w("Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent "
       "Lefèvre Michel Garcia David Bertrand Roux Vincent Fournier Morel Girard André Mercier "
       "Dupont Lambert Bonnet Legrand Garnier Faure Rousseau Blanc Guérin Muller Perrin Clément"),
    0.02,
    (("Paris", "750##", "+33 1 4# ## ## ##"), ("Lyon", "6900#", "+33 4 72 ## ## ##"),
     ("Marseille", "130##", "+33 4 91 ## ## ##"), ("Toulouse", "310##", "+33 5 61 ## ## ##"),
     ("Lille", "590##", "+33 3 20 ## ## ##"), ("Bordeaux", "330##", "+33 5 56 ## ## ##"),
     ("Nantes", "440##", "+33 2 40 ## ## ##")),
    ("+33 6 1# ## ## ##", "+33 6 7# ## ## ##", "+33 7 8# ## ## ##"), 0.7,
    ("{n} rue de la République", "{n} avenue Victor Hugo", "{n} boulevard Voltaire",
     "{n} rue Nationale", "{n} place de la Mairie", "{n} rue des Lilas"),
    _w("gmail.com gmail.com orange.fr free.fr hotmail.fr laposte.net wanadoo.fr"),
    ("90.", "92."), "2a01:cb00:", ".fr",
)  # fmt: skip
_GB = _Country(
    "GB", "en",
    _w("James John Robert David Michael William Richard Thomas Christopher Daniel Matthew Andrew "
       "Oliver Harry George Jack Samuel Edward"),
    _w("Sarah Emma Charlotte Emily Olivia Sophie Jessica Hannah Lucy Amelia Rebecca Laura Rachel "
       "Victoria Eleanor Grace Elizabeth"),
    _w("Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson "
       "Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson "
       "Wood Turner Cooper Hill Ward Morris Moore King Baker Harrison Morgan O'Brien MacDonald"),
    0.0,
    (("London", "SE1 #XY", "+44 20 7946 ####"), ("Manchester", "M1 #AE", "+44 161 496 ####"),
     ("Edinburgh", "EH1 #QS", "+44 131 496 ####"), ("Bristol", "BS1 #TH", "+44 117 496 ####"),
     ("Leeds", "LS1 #BA", "+44 113 496 ####"), ("Birmingham", "B1 #QU", "+44 121 496 ####")),
    ("+44 7400 ######", "+44 7712 ######"), 0.8,
    ("{n} High Street", "{n} Station Road", "{n} Church Lane", "{n} Victoria Road",
     "{n} Park Avenue", "{n} Mill Lane"),
    _w("gmail.com gmail.com hotmail.co.uk yahoo.co.uk btinternet.com sky.com"),
    ("81.", "109."), "2a00:23c0:", ".co.uk",
)  # fmt: skip
_US = _Country(
    "US", "en",
    _w("Robert Michael William David Richard Joseph Thomas Christopher Daniel Matthew Anthony "
       "Mark Steven Andrew Joshua Kevin Brian José Luis"),
    _w("Jennifer Linda Elizabeth Jessica Sarah Karen Nancy Lisa Ashley Emily Michelle Amanda "
       "Melissa Stephanie Rebecca Laura María"),
    _w("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
       "Lopez Wilson Anderson Taylor Moore Jackson Lee Thompson White Harris Clark Lewis Walker "
       "Young Allen King Wright Scott Nguyen Hill Flores Adams Nelson Rivera Kim O'Connor"),
    0.0,
    (("New York", "100##", "+1 212-555-####"), ("San Francisco", "941##", "+1 415-555-####"),
     ("Chicago", "606##", "+1 312-555-####"), ("Boston", "021##", "+1 617-555-####"),
     ("Seattle", "981##", "+1 206-555-####"), ("Austin", "787##", "+1 512-555-####"),
     ("Miami", "331##", "+1 305-555-####")),
    (), 1.0,
    ("{n} Main St", "{n} Oak Ave", "{n} Maple Dr", "{n} Market St", "{n} Washington Blvd",
     "{n} Elm St"),
    _w("gmail.com gmail.com yahoo.com hotmail.com outlook.com comcast.net"),
    ("73.", "24."), "2601:600:", ".com",
)  # fmt: skip
_COUNTRIES = (_AR, _ES, _FR, _GB, _US)
_COUNTRY_WEIGHTS = (30, 30, 15, 12, 13)

_NICKNAMES = {
    "José": ("Pepe",), "Francisco": ("Paco", "Pancho"), "Robert": ("Bob", "Rob"),
    "Jean-Pierre": ("J-P", "JP"), "Manuel": ("Manolo",), "Ignacio": ("Nacho",),
    "Carlos": ("Charly",), "William": ("Bill", "Will"), "Michael": ("Mike",), "James": ("Jim",),
    "Elizabeth": ("Liz", "Beth"), "Daniel": ("Dani", "Dan"), "Alejandro": ("Álex",),
    "Nicolás": ("Nico",), "Santiago": ("Santi",), "Christopher": ("Chris",), "Matthew": ("Matt",),
    "Rebecca": ("Becky",), "Jennifer": ("Jen",), "Richard": ("Rick",), "Guillaume": ("Guigui",),
}  # fmt: skip

_TOPICS = ("internet-speed", "billing", "ipv6", "router")
# language -> topic -> (helpdesk ticket, tweet, call summary)
_TEXTS: dict[str, dict[str, tuple[str, str, str]]] = {
    "es": {
        "internet-speed": (
            "La conexión anda a {mbps} Mbps y tengo contratados 300. Ya reinicié el router.",
            "Otra vez {mbps} Mbps en {city}. Pago 300 Mbps, @TelcoAyuda",
            "Cliente reporta lentitud ({mbps} Mbps). Se reinicia el puerto.",
        ),
        "billing": (
            "¿Por qué me cobran '{code}' si tengo internet ilimitado?",
            "Me cobran '{code}' y nadie me explica qué es. @TelcoAyuda",
            "Consulta por cargo '{code}' en la factura. Se anula el cargo.",
        ),
        "ipv6": (
            "Desde el cambio de plan el router no recibe dirección IPv6 y algunas webs no cargan.",
            "¿Para cuándo IPv6 que funcione? Sin IPv6 desde el lunes @TelcoAyuda",
            "Sin conectividad IPv6. Se escala a red.",
        ),
        "router": (
            "El router {router} se reinicia solo cada pocas horas.",
            "El router se reinicia cada 10 minutos, ya no sé qué hacer",
            "Router {router} con reinicios. Se envía técnico.",
        ),
    },
    "en": {
        "internet-speed": (
            "My connection runs at {mbps} Mbps on a 300 Mbps plan. Already rebooted the router.",
            "my internet is at {mbps} Mbps again",
            "Reports slow speed ({mbps} Mbps). Line reset.",
        ),
        "billing": (
            "Why is my bill charging '{code}' if my data is unlimited?",
            "Why am I paying for '{code}'?? @TelcoHelp",
            "Query about '{code}' on the bill. Charge refunded.",
        ),
        "ipv6": (
            "Since the plan change my router gets no IPv6 address and some sites fail to load.",
            "No IPv6 since Monday, when is it coming back @TelcoHelp",
            "No IPv6 connectivity. Escalated to the network team.",
        ),
        "router": (
            "The {router} router reboots by itself every few hours.",
            "router keeps rebooting, third time this week",
            "{router} rebooting. Engineer visit booked.",
        ),
    },
    "fr": {
        "internet-speed": (
            "Ma connexion plafonne à {mbps} Mbps pour une offre fibre 300 Mbps. Box redémarrée.",
            "Encore {mbps} Mbps ce soir à {city}, inadmissible @TelcoAide",
            "Signale un débit de {mbps} Mbps. Ligne réinitialisée.",
        ),
        "billing": (
            "Pourquoi ma facture comporte « {code} » alors que mon forfait est illimité ?",
            "C'est quoi ce « {code} » sur ma facture ?? @TelcoAide",
            "Question sur « {code} » en facture. Remboursement effectué.",
        ),
        "ipv6": (
            "Depuis le changement d'offre, la box n'obtient plus d'adresse IPv6.",
            "Toujours pas d'IPv6 depuis lundi @TelcoAide",
            "Pas de connectivité IPv6. Escaladé à l'équipe réseau.",
        ),
        "router": (
            "Le routeur {router} redémarre tout seul toutes les quelques heures.",
            "La box redémarre toute seule toutes les heures",
            "Redémarrages du {router}. Intervention technicien planifiée.",
        ),
    },
}
_BILLING_CODES = {
    "es": ("Acceso a Portal Movil", "Cuota Roaming Datos", "Alta Servicio Fibra"),
    "en": ("Mobile Portal Access", "Data Roaming Bundle", "Line Rental Adjustment"),
    "fr": ("Option Portail Mobile", "Frais de mise en service", "Pass Data Roaming"),
}
_ROUTERS = ("HGU Askey RTF8115VW", "Livebox 6", "Smart Hub 2", "Sagemcom F@st 5670", "HG8245H")
_OCCUPATIONS = {
    "es": ("Analista de sistemas", "Docente", "Contador público", "Arquitecta", "Enfermero"),
    "en": ("Software Engineer", "Teacher", "Accountant", "Product Designer", "Nurse"),
    "fr": ("Chef de projet", "Professeur", "Comptable", "Développeuse web", "Infirmier"),
}
_GENERIC_LOCALS = {"es": ("info", "soporte", "administracion"), "fr": ("contact", "accueil"),
                   "en": ("info", "office")}  # fmt: skip
_BUSINESSES = {"es": ("ferreteria{s}", "estudio{s}", "gestoria-{s}"),
               "fr": ("boulangerie-{s}", "cabinet{s}"),
               "en": ("{s}plumbing", "{s}-dental")}  # fmt: skip
_FAMILY_LOCALS = {"es": "familia.{s}", "fr": "famille.{s}", "en": "the.{s}s"}

# department -> (titles, topics its people write about)
_DEPARTMENTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Network Engineering": (
        ("Network Engineer", "Senior Network Engineer", "IP Architect"),
        ("ipv6", "dns", "cgnat"),
    ),
    "Access & Fibre": (("Fibre Planner", "Access Engineer", "FTTH Lead"), ("fibre", "ipv6")),
    "Mobile Radio": (("RF Engineer", "5G Architect", "Radio Planner"), ("5g",)),
    "Billing Systems": (
        ("Billing Analyst", "Rating Engineer", "Billing Product Owner"),
        ("billing-codes",),
    ),
    "Customer Care": (
        ("Care Agent", "Care Team Lead", "Quality Analyst"),
        ("billing-codes", "fibre"),
    ),
    "Platform & Security": (("SRE", "Security Engineer", "DNS Administrator"), ("dns", "cgnat")),
}
# topic -> language -> what an employee writes about it
_ACTIVITY: dict[str, dict[str, str]] = {
    "ipv6": {
        "en": "Dual-stack IPv6 on the residential network: what broke and how we fixed it.",
        "es": "IPv6 dual-stack en la red residencial: qué se rompió y cómo lo arreglamos.",
        "fr": "IPv6 double pile sur le réseau résidentiel : ce qui a cassé et comment réparer.",
    },
    "dns": {
        "en": "Moving the recursive DNS resolvers to anycast without a service cut.",
        "es": "Migración de los resolvers DNS recursivos a anycast sin corte de servicio.",
        "fr": "Migration des résolveurs DNS récursifs en anycast sans coupure de service.",
    },
    "billing-codes": {
        "en": "Why customers see 'Acceso a Portal Movil' on their bill, and how to explain it.",
        "es": "Por qué los clientes ven 'Acceso a Portal Movil' en la factura y cómo explicarlo.",
        "fr": "Pourquoi les clients voient « Option Portail Mobile » sur leur facture.",
    },
    "fibre": {
        "en": "GPON splitter ratios and what they mean for peak-hour speeds on fibre.",
        "es": "Ratios de splitter GPON y su efecto en la velocidad de la fibra en hora pico.",
        "fr": "Taux de couplage GPON et débits de la fibre aux heures de pointe.",
    },
    "5g": {
        "en": "First results from the 5G standalone core: latency, slicing and handover.",
        "es": "Primeros resultados del núcleo 5G standalone: latencia, slicing y handover.",
        "fr": "Premiers résultats du cœur 5G autonome : latence, slicing et handover.",
    },
    "cgnat": {
        "en": "Carrier-grade NAT port blocks: sizing, logging and abuse requests.",
        "es": "Bloques de puertos en CGNAT: dimensionamiento, logs y pedidos judiciales.",
        "fr": "Blocs de ports CGNAT : dimensionnement, journalisation et réquisitions.",
    },
}
_ACTIVITY_SOURCES = ("wiki", "blog", "microblog")


# --- People ------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Job:
    employee_id: str
    email: str
    department: str
    title: str
    manager: str | None
    location: str


@dataclass(slots=True)
class _Person:
    pid: str
    country: _Country
    given: str
    surname: str
    city: tuple[str, str, str]
    postcode: str
    address: str
    email: str
    phone: str  # international form
    account: str
    handle: str
    home_ip: str
    devices: tuple[str, ...]
    birth_date: str | None = None
    old_email: str | None = None
    old_phone: str | None = None
    changed_at: datetime = _NOW - timedelta(days=3650)
    job: _Job | None = None

    @property
    def name(self) -> str:
        return f"{self.given} {self.surname}"

    @property
    def lang(self) -> str:
        return self.country.language

    def email_at(self, when: datetime) -> str:
        return self.old_email if self.old_email and when < self.changed_at else self.email

    def phone_at(self, when: datetime) -> str:
        return self.old_phone if self.old_phone and when < self.changed_at else self.phone


@dataclass(slots=True)
class _Gen:
    """Generation state: the one random source and what has been handed out."""

    rng: random.Random
    used: set[str] = field(default_factory=set)  # namespaced keys of minted identifiers
    counters: dict[str, int] = field(default_factory=dict)
    cgnat: dict[str, tuple[str, ...]] = field(default_factory=dict)
    serial: int = 0
    staff: int = 0
    cto: str | None = None
    leads: dict[str, list[str]] = field(default_factory=dict)  # department -> possible managers
    story_done: bool = False

    def next_id(self, source: str) -> int:
        self.counters[source] = self.counters.get(source, 0) + 1
        return self.counters[source]

    def next_serial(self) -> int:
        self.serial += 1 + (self.serial + 1 == _STORY_SERIAL)  # the story person owns 123
        return self.serial

    def unique(self, kind: str, make: Callable[[int], str], key: Callable[[str], str]) -> str:
        """Mint a value whose key was never handed out; ``make`` gets the attempt number."""
        value = make(0)
        for attempt in range(1, 60):
            if f"{kind}:{key(value)}" not in self.used:
                break
            value = make(attempt)
        # A nearly exhausted range (fiction phone ranges) accepts a rare duplicate over looping.
        self.used.add(f"{kind}:{key(value)}")
        return value

    def ago(self, max_days: float, min_days: float = 0) -> datetime:
        seconds = self.rng.uniform(min_days * 86400, max_days * 86400)
        return _NOW - timedelta(seconds=int(seconds))


def _fill(rng: random.Random, pattern: str) -> str:
    """Replace each "#" of ``pattern`` by a random digit."""
    slots = pattern.count("#")
    digits = iter(f"{rng.randrange(10**slots):0{slots}d}")
    return "".join(next(digits) if c == "#" else c for c in pattern)


def _ascii(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _first(surname: str) -> str:
    """The first of a compound surname ("González" of "González Pérez")."""
    return surname.split(maxsplit=1)[0]


@functools.cache  # names come from small tables; this runs several times per person
def _slug(text: str) -> str:
    return "".join(c for c in _ascii(text).lower() if c.isalpha())


def _email_key(email: str) -> str:
    """The identity of an address as a Gmail-aware normaliser sees it."""
    local, _, domain = email.lower().partition("@")
    if domain in ("gmail.com", "googlemail.com"):
        local = local.split("+", 1)[0].replace(".", "")
    return f"{local}@{domain}"


def _national(intl: str, country: str) -> str:
    """The way a caller from ``country`` writes an international-form number at home."""
    rest = intl.split(" ", 1)[1]
    if country == "US":
        area, local = rest.split("-", 1)
        return f"({area}) {local}"
    if country == "AR" and rest.startswith("9 "):
        area, local = rest[2:].split(" ", 1)
        return f"0{area} 15-{local}"
    return rest if country == "ES" else "0" + rest


def _phone(g: _Gen, country: _Country, city: tuple[str, str, str], *, mobile: bool) -> str:
    patterns = country.mobiles if mobile and country.mobiles else (city[2],)
    pattern = g.rng.choice(patterns)
    return g.unique("phone", lambda _: _fill(g.rng, pattern), str)


def _email(g: _Gen, given: str, surname: str, domain: str, year: int) -> str:
    gv, sv = _slug(given), _slug(_first(surname))
    local = g.rng.choice((f"{gv}.{sv}", f"{gv[0]}{sv}", f"{gv}{sv}", f"{sv}.{gv}", f"{gv}_{sv}"))

    def make(attempt: int) -> str:
        suffix = "" if attempt == 0 else str(year % 100 if attempt == 1 else g.rng.randrange(9999))
        return f"{local}{suffix}@{domain}"

    return g.unique("email", make, _email_key)


def _handle(g: _Gen, given: str, surname: str) -> str:
    gv, sv = _slug(given), _slug(_first(surname))
    base = g.rng.choice((f"{gv[0]}{sv}", f"{gv}{sv}", f"{gv}_{sv}", f"{sv}{gv[0]}"))

    def make(attempt: int) -> str:
        suffix = "" if attempt == 0 else str(g.rng.randrange(10, 10 ** min(attempt + 1, 5)))
        return "@" + base[: 15 - len(suffix)] + suffix

    return g.unique("twitter", make, str.lower)


def _new_person(
    g: _Gen,
    pid: str,
    country: _Country,
    *,
    city: tuple[str, str, str] | None = None,
    surname: str | None = None,
) -> _Person:
    rng = g.rng
    given = rng.choice(country.female if rng.random() < 0.5 else country.male)
    if surname is None:
        surname = rng.choice(country.surnames)
        if rng.random() < country.compound:
            surname += " " + rng.choice(country.surnames)
    if city is None:
        city = country.cities[0] if rng.random() < 0.4 else rng.choice(country.cities)
    birth = _NOW.date() - timedelta(days=rng.randrange(18 * 365, 80 * 365))
    return _Person(
        pid=pid,
        country=country,
        given=given,
        surname=surname,
        city=city,
        postcode=_fill(rng, city[1]),
        address=rng.choice(country.streets).format(n=rng.randrange(1, 2500)),
        email=_email(g, given, surname, rng.choice(country.domains), birth.year),
        phone=_phone(g, country, city, mobile=rng.random() < country.mobile_share),
        account=g.unique("account", lambda _: _fill(rng, f"{country.code}-#######"), str),
        handle=_handle(g, given, surname),
        home_ip=_ip4(g, rng.choice(country.ip4)),
        devices=tuple(f"dev-{rng.getrandbits(48):012x}" for _ in range(rng.randint(1, 3))),
        birth_date=birth.isoformat() if rng.random() < 0.6 else None,
    )


def _ip4(g: _Gen, prefix: str) -> str:
    rng = g.rng
    return g.unique(
        "ip",
        lambda _: f"{prefix}{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
        str,
    )


def _change_contacts(g: _Gen, p: _Person) -> None:
    """Give ``p`` an older email or phone, used by records dated before the change."""
    p.changed_at = g.ago(400, 120)
    if g.rng.random() < 0.6:
        domain = g.rng.choice(p.country.domains)
        p.old_email = _email(g, p.given, p.surname, domain, int((p.birth_date or "1980")[:4]))
    else:
        p.old_phone = _phone(g, p.country, p.city, mobile=True)


# --- Name and identifier forms -----------------------------------------------------------------


def _nickname(rng: random.Random, given: str) -> str | None:
    nicks = _NICKNAMES.get(given)
    return rng.choice(nicks) if nicks else None


def _display_name(rng: random.Random, p: _Person) -> str:
    """How people name themselves on social networks."""
    nick, roll = _nickname(rng, p.given), rng.random()
    if nick and roll < 0.5:
        return nick if rng.random() < 0.5 else f"{nick} {_first(p.surname)}"
    if roll < 0.7:
        return f"{p.given} {p.surname[0]}."
    return p.name


def _typo(rng: random.Random, text: str) -> str:
    i = rng.randrange(1, len(text) - 2)
    return rng.choice(
        (
            text[:i] + text[i + 1] + text[i] + text[i + 2 :],  # swapped letters
            text[:i] + text[i + 1 :],  # dropped letter
            text[:i] + text[i] + text[i:],  # doubled letter
        )
    )


def _typed_name(rng: random.Random, p: _Person) -> str:
    """A name as a call-centre agent types it while listening."""
    nick = _nickname(rng, p.given)
    name = f"{nick} {p.surname}" if nick and rng.random() < 0.3 else p.name
    if rng.random() < 0.4:
        name = _ascii(name)
    if rng.random() < 0.15:
        name = _typo(rng, name)
    return name.lower() if rng.random() < 0.2 else name


def _email_form(rng: random.Random, email: str) -> str:
    """Another way the same mailbox gets written: Gmail dots and tags, capitals."""
    local, domain = email.split("@")
    roll = rng.random()
    if domain == "gmail.com" and roll < 0.3:
        local = local.replace(".", "")
    elif domain == "gmail.com" and roll < 0.5:
        local += rng.choice(("+telco", "+facturas", "+billing", "+soporte"))
    if rng.random() < 0.25:
        local = local[0].upper() + local[1:]
    return f"{local}@{domain.upper() if rng.random() < 0.05 else domain}"


def _account_form(rng: random.Random, account: str) -> str:
    country, number = account.split("-")
    return rng.choice(
        (
            account,
            f"{country.lower()}{number}",
            f"{country} {number}",
            f"{country}{number}",
            account.lower(),
        )
    )


def _phone_form(rng: random.Random, phone: str, country: str, national: float) -> str:
    return _national(phone, country) if rng.random() < national else phone


def _ts(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def _ident(kind: str, value: str, seen_at: datetime | None = None) -> Identifier:
    ident = Identifier(type=kind, value=value)
    if seen_at is not None:
        ident["seen_at"] = _ts(seen_at)
    return ident


def _record(
    source: str,
    source_id: str,
    *,
    kind: str = "customer",
    observed_at: datetime | None = None,
    name: str | None = None,
    identifiers: Iterable[Identifier] = (),
    attributes: Mapping[str, str | None] | None = None,
    text: str | None = None,
    topics: Iterable[str] = (),
) -> Record:
    """Build a record with only the format's fields, leaving out the empty ones."""
    record: Record = {"source": source, "source_id": source_id, "kind": kind}
    if observed_at is not None:
        record["observed_at"] = _ts(observed_at)
    if name:
        record["name"] = name
    if idents := list(identifiers):
        record["identifiers"] = idents
    if attrs := {k: v for k, v in (attributes or {}).items() if v}:
        record["attributes"] = attrs
    if text:
        record["text"] = text
    if topic_list := list(topics):
        record["topics"] = topic_list
    return record


# --- Customer channels -------------------------------------------------------------------------


def _crm(g: _Gen, p: _Person) -> list[Record]:
    c = p.country
    idents = [_ident("email", p.email), _ident("phone", p.phone), _ident("account", p.account)]
    if g.rng.random() < 0.3:
        handle = p.handle if g.rng.random() < 0.7 else f"https://twitter.com/{p.handle[1:]}"
        idents.append(_ident("twitter", handle))
    # Staff who are also customers get a customer number like anyone else.
    serial = int(p.pid.rsplit("-", 1)[1]) if p.pid.startswith("cust-") else g.next_serial()
    return [
        _record(
            "crm",
            f"C-{serial:06d}",
            observed_at=g.ago(30),
            name=p.name,
            identifiers=idents,
            attributes={
                "address": p.address,
                "city": p.city[0],
                "postcode": p.postcode,
                "country": c.code,
                "language": c.language,
                "birth_date": p.birth_date,
            },
        )
    ]


def _billing(g: _Gen, p: _Person) -> list[Record]:
    name = f"{_ascii(p.surname).upper()}, {_ascii(p.given).upper()}"
    return [
        _record(
            "billing",
            f"BA-{g.next_id('billing'):07d}",
            observed_at=g.ago(31),
            name=name,
            identifiers=[_ident("account", _account_form(g.rng, p.account))],
            attributes={"city": p.city[0], "country": p.country.code},
        )
    ]


def _fill_text(g: _Gen, p: _Person, template: str) -> str:
    return template.format(
        mbps=g.rng.choice((1, 2, 3, 5, 8, 12)),
        city=p.city[0],
        router=g.rng.choice(_ROUTERS),
        code=g.rng.choice(_BILLING_CODES[p.lang]),
    )


def _ticket(g: _Gen, p: _Person, when: datetime) -> Record:
    topic = g.rng.choice(_TOPICS)
    idents = [_ident("email", _email_form(g.rng, p.email_at(when)))]
    if g.rng.random() < 0.3:
        idents.append(_ident("phone", _phone_form(g.rng, p.phone_at(when), p.country.code, 0.5)))
    return _record(
        "helpdesk",
        f"T-{g.next_id('helpdesk'):07d}",
        observed_at=when,
        name=p.name if g.rng.random() < 0.5 else None,
        identifiers=idents,
        attributes={"country": p.country.code, "language": p.lang},
        text=_fill_text(g, p, _TEXTS[p.lang][topic][0]),
        topics=[topic],
    )


def _helpdesk(g: _Gen, p: _Person) -> list[Record]:
    return [_ticket(g, p, g.ago(730)) for _ in range(g.rng.choice((1, 1, 1, 2, 3)))]


def _twitter(g: _Gen, p: _Person) -> list[Record]:
    records = []
    for _ in range(g.rng.choice((1, 1, 2, 3))):
        when = g.ago(730)
        idents = [_ident("twitter", p.handle)]
        if g.rng.random() < 0.2:
            idents.append(_ident("ip", _session_ip(g, p), when))
        template = _TEXTS[p.lang][g.rng.choice(_TOPICS)][1]
        records.append(
            _record(
                "twitter",
                str(1_880_000_000_000_000_000 + g.next_id("twitter") * 7_919),
                observed_at=when,
                name=_display_name(g.rng, p),
                identifiers=idents,
                text=_fill_text(g, p, template),
            )
        )
    return records


def _profile_url(g: _Gen, p: _Person, network: str) -> str:
    gv, sv = _slug(p.given), _slug(_first(p.surname))
    if network == "facebook":
        base, sep = f"https://www.facebook.com/{gv}.{sv}", "."
    else:
        base, sep = f"https://www.linkedin.com/in/{gv}-{sv}", "-"

    def make(attempt: int) -> str:
        return base if attempt == 0 else f"{base}{sep}{g.rng.getrandbits(24):x}"

    return g.unique(network, make, str.lower)


def _facebook(g: _Gen, p: _Person) -> list[Record]:
    return [
        _record(
            "facebook",
            str(100_004_000_000_000 + g.next_id("facebook")),
            observed_at=g.ago(365),
            name=_display_name(g.rng, p),
            identifiers=[_ident("facebook", _profile_url(g, p, "facebook"))],
            attributes={"city": p.city[0] if g.rng.random() < 0.6 else None},
        )
    ]


def _linkedin(g: _Gen, p: _Person) -> list[Record]:
    return [
        _record(
            "linkedin",
            f"li-{g.next_id('linkedin'):08d}",
            observed_at=g.ago(365),
            name=p.name,
            identifiers=[_ident("linkedin", _profile_url(g, p, "linkedin"))],
            attributes={
                "city": p.city[0],
                "country": p.country.code,
                "title": g.rng.choice(_OCCUPATIONS[p.lang]),
            },
        )
    ]


def _session_ip(g: _Gen, p: _Person) -> str:
    """Home address mostly; a mobile carrier's shared NAT address or an IPv6 address otherwise."""
    roll, code = g.rng.random(), p.country.code
    if roll < 0.3:
        if code not in g.cgnat:
            g.cgnat[code] = tuple(_ip4(g, p.country.ip4[0]) for _ in range(3))
        return g.rng.choice(g.cgnat[code])
    if roll < 0.42:
        groups = ":".join(f"{g.rng.getrandbits(16):x}" for _ in range(6))
        return ipaddress.IPv6Address(p.country.ip6 + groups).compressed
    return p.home_ip


def _web(g: _Gen, p: _Person) -> list[Record]:
    records = []
    for _ in range(g.rng.randint(1, 3)):
        when = g.ago(365)
        idents = [_ident("ip", _session_ip(g, p), when), _ident("device", g.rng.choice(p.devices))]
        if g.rng.random() < 0.6:
            idents.append(_ident("account", _account_form(g.rng, p.account)))
        records.append(
            _record("web", f"sess-{g.next_id('web'):08d}", observed_at=when, identifiers=idents)
        )
    return records


def _call(g: _Gen, p: _Person, when: datetime) -> Record:
    template = _TEXTS[p.lang][g.rng.choice(_TOPICS)][2]
    phone = _phone_form(g.rng, p.phone_at(when), p.country.code, 0.7)
    return _record(
        "calls",
        f"CALL-{g.next_id('calls'):07d}",
        observed_at=when,
        name=_typed_name(g.rng, p),
        identifiers=[_ident("phone", phone)],
        attributes={"country": p.country.code},
        text=_fill_text(g, p, template),
    )


def _calls(g: _Gen, p: _Person) -> list[Record]:
    return [_call(g, p, g.ago(730)) for _ in range(g.rng.choice((1, 1, 1, 2)))]


def _older(g: _Gen, p: _Person) -> list[Record]:
    """A record from before the contact change, carrying the old email or phone."""
    when = p.changed_at - timedelta(days=g.rng.randrange(10, 300))
    return [_ticket(g, p, when) if p.old_email else _call(g, p, when)]


_CHANNELS: tuple[tuple[float, Callable[[_Gen, _Person], list[Record]]], ...] = (
    (0.99, _crm),
    (0.9, _billing),
    (0.4, _helpdesk),
    (0.25, _twitter),
    (0.1, _facebook),
    (0.1, _linkedin),
    (0.5, _web),
    (0.3, _calls),
)


def _customer_records(g: _Gen, p: _Person) -> Iterator[tuple[Record, str]]:
    for share, channel in _CHANNELS:
        if g.rng.random() < share:
            for record in channel(g, p):
                yield record, p.pid
    if p.old_email or p.old_phone:
        for record in _older(g, p):
            yield record, p.pid


# --- Customer households and businesses --------------------------------------------------------


def _pick_country(g: _Gen) -> _Country:
    return g.rng.choices(_COUNTRIES, _COUNTRY_WEIGHTS)[0]


def _customer(g: _Gen) -> _Person:
    p = _new_person(g, f"cust-{g.next_serial():06d}", _pick_country(g))
    if g.rng.random() < 0.05:
        _change_contacts(g, p)
    return p


def _family(g: _Gen) -> list[_Person]:
    """Two people at one address sharing one mailbox, each with their own account."""
    first = _customer(g)
    c = first.country
    local = _FAMILY_LOCALS[c.language].format(s=_slug(_first(first.surname)))
    domain = g.rng.choice(c.domains)
    email = g.unique("email", lambda n: f"{local}{n or ''}@{domain}", _email_key)
    second = _new_person(
        g,
        f"cust-{g.next_serial():06d}",
        c,
        city=first.city,
        surname=first.surname if g.rng.random() < 0.5 else None,
    )
    second.address, second.postcode, second.home_ip = first.address, first.postcode, first.home_ip
    first.email = second.email = email
    return [first, second]


def _business(g: _Gen, *, shared: str) -> list[_Person]:
    """Staff of a small business, each with an own account, sharing its mailbox or switchboard."""
    c = _pick_country(g)
    city = g.rng.choice(c.cities)
    name = g.rng.choice(_BUSINESSES[c.language]).format(s=_slug(g.rng.choice(c.surnames)))
    local = g.rng.choice(_GENERIC_LOCALS[c.language])
    email = g.unique("email", lambda n: f"{local}@{name}{n or ''}{c.tld}", _email_key)
    switchboard = _phone(g, c, city, mobile=False)
    staff = [
        _new_person(g, f"cust-{g.next_serial():06d}", c, city=city)
        for _ in range(g.rng.randint(5, 7) if shared == "email" else g.rng.randint(3, 5))
    ]
    for p in staff:
        if shared == "email":
            p.email = email
        else:
            p.phone = switchboard
    return staff


def _households(g: _Gen, customers: int) -> Iterator[list[_Person]]:
    """Groups of customers created together, hard cases shuffled in among single people."""
    hard = max(1, customers // 600) if customers >= 40 else 0
    plan = ["email"] * hard + ["phone"] * hard + ["family"] * (3 * hard)
    plan += ["single"] * max(0, customers - 16 * hard)  # 6 + 4 + 3 * 2 people on average
    g.rng.shuffle(plan)
    made = 0
    for unit in plan:
        if made >= customers:
            return
        if unit == "single" or customers - made < 8:
            group = [_customer(g)]
        else:
            group = _family(g) if unit == "family" else _business(g, shared=unit)
        made += len(group)
        yield group
    while made < customers:
        made += 1
        yield [_customer(g)]


# --- The story ---------------------------------------------------------------------------------


def _story(g: _Gen) -> Iterator[tuple[Record, str]]:
    """Carlos Francavilla's records, the same for every seed and size."""
    for key in (
        "email:carlosf@gmail.com",
        "phone:+54 11 4555-1234",
        "account:AR-0099812",
        f"twitter:{STORY_HANDLE}",
        "ip:181.2.3.4",
    ):
        g.used.add(key)
    p = _Person(
        pid=STORY_PERSON,
        country=_AR,
        given="Carlos",
        surname="Francavilla",
        city=_AR.cities[0],
        postcode="C1414",
        address="Av. Corrientes 1234",
        email="Carlos.F@gmail.com",
        phone="+54 11 4555-1234",
        account="AR-0099812",
        handle=STORY_HANDLE,
        home_ip="181.2.3.4",
        devices=("dev-7f3a9c21b4e0",),
        birth_date="1984-07-12",
    )
    tweet_at, ticket_at = _NOW - timedelta(days=2, hours=3), _NOW - timedelta(days=2, hours=1)
    ar = {"country": "AR"}
    records = [
        _record(
            "crm",
            "C-000123",
            observed_at=_NOW - timedelta(days=20),
            name=p.name,
            identifiers=[
                _ident("email", p.email),
                _ident("phone", p.phone),
                _ident("account", p.account),
                _ident("twitter", p.handle),
            ],
            attributes={
                "address": p.address,
                "city": "Buenos Aires",
                "postcode": p.postcode,
                "country": "AR",
                "language": "es",
                "birth_date": p.birth_date,
            },
        ),
        _record(
            "billing",
            f"BA-{g.next_id('billing'):07d}",
            observed_at=_NOW - timedelta(days=1),
            name="FRANCAVILLA, CARLOS",
            identifiers=[_ident("account", "AR0099812")],
            attributes={"city": "Buenos Aires", "country": "AR"},
        ),
        _record(
            "twitter",
            str(1_880_000_000_000_000_000 + g.next_id("twitter") * 7_919),
            observed_at=tweet_at,
            name="Carlos F.",
            identifiers=[_ident("twitter", STORY_HANDLE), _ident("ip", p.home_ip, tweet_at)],
            text="my internet is at 1 Mbps again",
        ),
        _record(
            "helpdesk",
            f"T-{g.next_id('helpdesk'):07d}",
            observed_at=ticket_at,
            identifiers=[_ident("email", "carlosf@gmail.com")],
            attributes={**ar, "language": "es"},
            topics=["internet-speed"],
            text="Otra vez 1 Mbps. Tengo contratados 300 Mbps y ya reinicié el router.",
        ),
        _record(
            "calls",
            f"CALL-{g.next_id('calls'):07d}",
            observed_at=ticket_at + timedelta(hours=3),
            name="carlos francavila",
            identifiers=[_ident("phone", "011 4555-1234")],
            attributes=ar,
            text="Cliente reporta lentitud (1 Mbps). Se reinicia el puerto.",
        ),
        _record(
            "web",
            f"sess-{g.next_id('web'):08d}",
            observed_at=tweet_at - timedelta(hours=1),
            identifiers=[
                _ident("ip", p.home_ip, tweet_at - timedelta(hours=1)),
                _ident("device", p.devices[0]),
                _ident("account", "ar0099812"),
            ],
        ),
    ]
    for record in records:
        yield record, p.pid


# --- Employees ---------------------------------------------------------------------------------


def _manager(g: _Gen, department: str, employee_id: str) -> str | None:
    """Place a new hire: the first ever is the CTO, each department has a head and leads."""
    if g.cto is None:
        g.cto = employee_id
        return None
    leads = g.leads.setdefault(department, [])
    manager = g.rng.choice(leads) if leads else g.cto
    if not leads or g.rng.random() < 0.12:
        leads.append(employee_id)
    return manager


def _employee(g: _Gen) -> _Person:
    g.staff += 1
    country = _pick_country(g)
    p = _new_person(g, f"emp-{g.staff:05d}", country, city=country.cities[0])
    department = g.rng.choice(list(_DEPARTMENTS))
    employee_id = f"E{g.staff:05d}"
    local = f"{_slug(p.given)}.{_slug(_first(p.surname))}"
    email = g.unique("email", lambda n: f"{local}{n or ''}@telco.example", _email_key)
    manager = _manager(g, department, employee_id)
    title = g.rng.choice(_DEPARTMENTS[department][0]) if manager else "Chief Technology Officer"
    p.job = _Job(employee_id, email, department, title, manager, country.cities[0][0])
    return p


def _hr(g: _Gen, p: _Person, job: _Job) -> Record:
    return _record(
        "hr",
        job.employee_id,
        kind="employee",
        observed_at=g.ago(60),
        name=p.name,
        identifiers=[
            _ident("employee_id", job.employee_id),
            _ident("email", job.email),
            _ident("phone", p.phone),
        ],
        attributes={
            "department": job.department,
            "title": job.title,
            "location": job.location,
            "country": p.country.code,
            "manager": job.manager,
        },
    )


def _activity(g: _Gen, p: _Person, job: _Job) -> Record:
    source = g.rng.choice(_ACTIVITY_SOURCES)
    topic = g.rng.choice(_DEPARTMENTS[job.department][1])
    lang = p.lang if g.rng.random() < 0.6 else "en"  # engineers often write in English
    text = _ACTIVITY[topic][lang]
    if source == "microblog":
        text = f"{text} #{topic.replace('-', '')}"
    elif source == "wiki":
        text = "Runbook: " + text
    ident = (
        _ident("employee_id", job.employee_id)
        if source == "wiki"
        else _ident("email", _email_form(g.rng, job.email))
    )
    name = _display_name(g.rng, p) if source == "microblog" else p.name
    return _record(
        source,
        f"{source}-{g.next_id(source):07d}",
        kind="employee",
        observed_at=g.ago(720),
        name=name,
        identifiers=[ident],
        text=text,
        topics=[topic],
    )


def _employee_records(g: _Gen, p: _Person) -> Iterator[tuple[Record, str]]:
    assert p.job is not None
    yield _hr(g, p, p.job), p.pid
    for _ in range(g.rng.choice((0, 1, 1, 2, 3, 5))):
        yield _activity(g, p, p.job), p.pid
    if g.rng.random() < 0.05:  # staff who are also customers, under their personal contacts
        yield from _customer_records(g, p)


# --- Public API --------------------------------------------------------------------------------


def _population(g: _Gen, customers: int, employees: int) -> Iterator[tuple[Record, str]]:
    if not g.story_done:
        g.story_done = True
        customers -= 1
        yield from _story(g)
    for group in _households(g, customers):
        for p in group:
            yield from _customer_records(g, p)
    for _ in range(employees):
        yield from _employee_records(g, _employee(g))


def generate_with_truth(
    *, seed: int = 7, customers: int = 3000, employees: int = 300
) -> tuple[list[Record], Truth]:
    """Records for ``customers`` + ``employees`` people, and which person each record is."""
    pairs = list(_population(_Gen(random.Random(seed)), customers, employees))
    truth = {f"{record['source']}/{record['source_id']}": pid for record, pid in pairs}
    return [record for record, _ in pairs], truth


def generate(*, seed: int = 7, customers: int = 3000, employees: int = 300) -> list[Record]:
    """Records for ``customers`` + ``employees`` synthetic people (see the module docstring)."""
    return generate_with_truth(seed=seed, customers=customers, employees=employees)[0]


def generate_large(n_records: int, *, seed: int = 11) -> Iterator[Record]:
    """Stream exactly ``n_records`` records, about 4.5 per person, for benchmarks.

    Records are never kept; only the set of minted identifiers (used to keep
    people apart) grows, by a few short strings per person.
    """
    return (record for record, _ in generate_large_with_truth(n_records, seed=seed))


def generate_large_with_truth(n_records: int, *, seed: int = 11) -> Iterator[tuple[Record, str]]:
    """`generate_large`, each record with the id of the person it belongs to."""
    g = _Gen(random.Random(seed))
    produced = 0
    while produced < n_records:
        for record, person in _population(g, 2000, 200):
            yield record, person
            produced += 1
            if produced >= n_records:
                return


def write_jsonl(records: Iterable[Record], path: pathlib.Path) -> int:
    """Write one JSON object per line (UTF-8, accents kept) and return how many."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count
