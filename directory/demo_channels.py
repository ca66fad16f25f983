"""The people of the demo population and the records each channel writes about them.

``directory.demo_data`` invents the people (`_Person`); each customer channel
here (CRM, billing, helpdesk, Twitter, Facebook, LinkedIn, web sessions, call
logs) turns one person into records, writing the name and identifiers its own
way: Gmail dots and tags, national phone forms, nicknames, typos, carrier-grade
NAT addresses. The generation state (`_Gen`: the one random source and what has
been handed out) lives here because every builder draws from it.

Invariants:

- Builders take randomness only from ``g.rng`` and time only from ``_NOW``.
- Records carry only the format's fields, built by `_record`.
- Names keep their leading underscore: they are internals of the demo
  generator; the public API is ``directory.demo_data``.
"""

from __future__ import annotations

import functools
import ipaddress
import random
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NotRequired, TypedDict

from directory.demo_tables import (
    _BILLING_CODES,
    _NICKNAMES,
    _OCCUPATIONS,
    _ROUTERS,
    _TEXTS,
    _TOPICS,
    _Country,
)

Record = dict[str, object]

# The story person's customer number (demo_data.STORY_PERSON); serials skip it.
_STORY_SERIAL = 123
_NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # fixed so output never depends on the clock


class Identifier(TypedDict):
    """One identifier of a record, as the format writes it."""

    type: str
    value: str
    seen_at: NotRequired[str]


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
    line_holder: _Person | None = None  # who holds the home line, when another person does

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
    isp_leases: bool = False  # also write the ISP's lease log (`_isp_leases`)

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


def _ascii(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _first(surname: str) -> str:
    """The first of a compound surname ("González" of "González Pérez")."""
    return surname.split(maxsplit=1)[0]


@functools.cache  # names come from small tables; this runs several times per person
def _slug(text: str) -> str:
    return "".join(c for c in _ascii(text).lower() if c.isalpha())


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


def _ip4(g: _Gen, prefix: str) -> str:
    rng = g.rng
    return g.unique(
        "ip",
        lambda _: f"{prefix}{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
        str,
    )


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
    records = [record for share, channel in _CHANNELS if g.rng.random() < share
               for record in channel(g, p)]  # fmt: skip
    if p.old_email or p.old_phone:
        records += _older(g, p)
    for record in records:
        yield record, p.pid
    if g.isp_leases:  # the line's records belong to its holder
        for record in _isp_leases(p, records):
            yield record, (p.line_holder or p).pid


_HOME_LINE_SHARE = 0.7  # customers whose home internet line is ours


def _isp_leases(p: _Person, records: list[Record]) -> list[Record]:
    """The ISP's lease (RADIUS accounting) log for the person's home line: the
    lease renewal that preceded each activity seen on the home IP, under the
    account that holds the line (a household's one contract). The rest of the
    log would only add records their account already links. A random source of
    its own (seeded by the holder's account), so turning the log on leaves every
    other record as it was."""
    holder = (p.line_holder or p).account
    if random.Random(f"line:{holder}").random() >= _HOME_LINE_SHARE:
        return []
    return [
        _lease(holder, p.home_ip, f"{record['source']}/{record['source_id']}", ident["seen_at"])
        for record in records
        for ident in record.get("identifiers", ())  # type: ignore[attr-defined]
        if ident["type"] == "ip" and ident["value"] == p.home_ip and "seen_at" in ident
    ]


def _lease(account: str, ip: str, activity: str, seen_at: str) -> Record:
    """The renewal of the line's lease up to 20 hours before an activity."""
    rng = random.Random(f"lease:{activity}")
    start = datetime.fromisoformat(seen_at) - timedelta(seconds=rng.randrange(60, 20 * 3600))
    return _record(
        "isp_lease",
        f"radius-{activity.replace('/', '-')}",
        observed_at=start,
        identifiers=[_ident("account", account), _ident("ip", ip, start)],
    )
