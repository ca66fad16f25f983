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

The static tables are in ``directory.demo_tables`` and the customer channels'
record builders in ``directory.demo_channels``; this module invents the people
(households, businesses sharing a mailbox or switchboard, the story, employees
with their HR and activity feeds) and is the public API.
"""

from __future__ import annotations

import json
import pathlib
import random
from collections.abc import Iterable, Iterator
from datetime import timedelta

from directory.demo_channels import (
    _NOW,
    Identifier,
    Record,
    _customer_records,
    _display_name,
    _email_form,
    _first,
    _Gen,
    _ident,
    _ip4,
    _Job,
    _Person,
    _record,
    _slug,
)
from directory.demo_tables import (
    _ACTIVITY,
    _ACTIVITY_SOURCES,
    _AR,
    _BUSINESSES,
    _COUNTRIES,
    _COUNTRY_WEIGHTS,
    _DEPARTMENTS,
    _FAMILY_LOCALS,
    _GENERIC_LOCALS,
    _Country,
)

__all__ = [
    "STORY_HANDLE",
    "STORY_PERSON",
    "Identifier",
    "Record",
    "Truth",
    "generate",
    "generate_large",
    "generate_large_with_truth",
    "generate_with_truth",
    "write_jsonl",
]

Truth = dict[str, str]  # "source/source_id" -> person id

STORY_HANDLE = "@cfrancavilla"  # the README's tweet -> profile story
STORY_PERSON = "cust-000123"  # serial demo_channels._STORY_SERIAL


# --- Inventing people --------------------------------------------------------------------------


def _fill(rng: random.Random, pattern: str) -> str:
    """Replace each "#" of ``pattern`` by a random digit."""
    slots = pattern.count("#")
    digits = iter(f"{rng.randrange(10**slots):0{slots}d}")
    return "".join(next(digits) if c == "#" else c for c in pattern)


def _email_key(email: str) -> str:
    """The identity of an address as a Gmail-aware normaliser sees it."""
    local, _, domain = email.lower().partition("@")
    if domain in ("gmail.com", "googlemail.com"):
        local = local.split("+", 1)[0].replace(".", "")
    return f"{local}@{domain}"


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


def _change_contacts(g: _Gen, p: _Person) -> None:
    """Give ``p`` an older email or phone, used by records dated before the change."""
    p.changed_at = g.ago(400, 120)
    if g.rng.random() < 0.6:
        domain = g.rng.choice(p.country.domains)
        p.old_email = _email(g, p.given, p.surname, domain, int((p.birth_date or "1980")[:4]))
    else:
        p.old_phone = _phone(g, p.country, p.city, mobile=True)


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
    second.line_holder = first
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


def generate_large_with_truth(
    n_records: int, *, seed: int = 11, isp_leases: bool = False
) -> Iterator[tuple[Record, str]]:
    """`generate_large`, each record with the id of the person it belongs to.
    `isp_leases` adds the ISP's lease log of customers' home lines (source
    `isp_lease`), leaving the other records as they are."""
    g = _Gen(random.Random(seed), isp_leases=isp_leases)
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
