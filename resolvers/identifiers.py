"""Parse and normalise identifier values (record-format.md, "Identifier types").

Every identifier is normalised here and nowhere else, so records that carry the
same email, phone or handle in different spellings meet on one graph key.

Invariants:

- ``normalise`` is idempotent: normalising a canonical value returns it
  unchanged, so stored records can be parsed again safely.
- Every rule lives in a table built once at import (providers, networks,
  aliases, strengths); nothing is constructed per call, because ingest runs at
  thousands of records per second.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import parse_qs, unquote, urlsplit

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

from resolvers.model import Strength


class IdentifierError(ValueError):
    """A value that cannot be parsed as its identifier type.

    ``str()`` says which value was wrong, for which type, and why, e.g.
    ``'carlos.gmail.com' is not an email address (no '@')``.
    """

    def __init__(self, type_: str, value: str, reason: str) -> None:
        self.type = type_
        self.value = value
        self.reason = reason
        super().__init__(f"{value!r} is not {_describe(type_)} ({reason})")

    def __reduce__(self) -> tuple[type[IdentifierError], tuple[str, str, str]]:
        # Rebuild from the parts, not the message, so errors cross process pools.
        return (type(self), (self.type, self.value, self.reason))


class _RejectedError(Exception):
    """Raised by a normaliser with the reason only; ``normalise`` adds type and value."""


_Normaliser = Callable[[str, str | None], str]

# Alternative spellings seen in source systems and CSV headers.
_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "x": "twitter",
        "mail": "email",
        "e-mail": "email",
        "email_address": "email",
        "tel": "phone",
        "mobile": "phone",
        "telephone": "phone",
        "phone_number": "phone",
        "ip_address": "ip",
    }
)


@functools.lru_cache(maxsize=1024)
def canonical_type(type_: str) -> str:
    """The canonical name of an identifier type: trimmed, lower-cased, aliases resolved."""
    key = type_.strip().lower()
    return _ALIASES.get(key, key)


# --- email -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _MailRule:
    """How one mail provider compares local parts."""

    domain: str  # the domain the mailbox really lives on
    plus_tags: bool  # 'name+tag' delivers to 'name'
    ignore_dots: bool  # 'c.f' and 'cf' are one mailbox


_GMAIL = _MailRule("gmail.com", plus_tags=True, ignore_dots=True)
_PLUS_DOMAINS = (
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "protonmail.com",
    "protonmail.ch",
    "proton.me",
    "pm.me",
    "fastmail.com",
    "fastmail.fm",
)
# Yahoo's 'base-keyword' disposable addresses are separate mailboxes whose base
# differs from the account name, so nothing can be stripped: kept as given.
_KEEP_DOMAINS = ("yahoo.com", "ymail.com", "yahoo.com.ar", "yahoo.es", "yahoo.fr")

_MAIL_PROVIDERS: Mapping[str, _MailRule] = MappingProxyType(
    {
        "gmail.com": _GMAIL,
        "googlemail.com": _GMAIL,
        **{d: _MailRule(d, plus_tags=True, ignore_dots=False) for d in _PLUS_DOMAINS},
        **{d: _MailRule(d, plus_tags=False, ignore_dots=False) for d in _KEEP_DOMAINS},
    }
)

_EMAIL_BAD_LOCAL = re.compile(r'[\s<>()\[\],;:\\"]')
_EMAIL_DOMAIN = re.compile(r"[^\W_](?:[\w-]*[^\W_])?(?:\.[^\W_](?:[\w-]*[^\W_])?)+")


def _email(value: str, region: str | None) -> str:
    text = value.strip().lower().removeprefix("mailto:")
    ats = text.count("@")
    if ats != 1:
        raise _RejectedError("no '@'" if ats == 0 else "more than one '@'")
    local, domain = text.split("@")
    if not local:
        raise _RejectedError("nothing before '@'")
    if bad := _EMAIL_BAD_LOCAL.search(local):
        raise _RejectedError(f"{bad.group()!r} is not allowed before '@'")
    if "." not in domain:
        raise _RejectedError(f"domain {domain!r} has no '.'; expected e.g. name@example.com")
    if not _EMAIL_DOMAIN.fullmatch(domain):
        raise _RejectedError(f"{domain!r} is not a domain name; expected e.g. name@example.com")
    rule = _MAIL_PROVIDERS.get(domain)
    if rule is None:
        return text
    if rule.plus_tags:
        local = local.partition("+")[0]
    if rule.ignore_dots:
        local = local.replace(".", "")
    if not local:
        raise _RejectedError(
            f"nothing left before '@' once {rule.domain} tags and dots are removed"
        )
    return f"{local}@{rule.domain}"


# --- phone -------------------------------------------------------------------

_PHONE_DIGIT = re.compile(r"[0-9]")
_PHONE_LETTER = re.compile(r"[^\W\d_]")
_PHONE_BAD_CHAR = re.compile(r"[^0-9+()\s./\-\u2010-\u2015]")
_PHONE_REGIONS = frozenset(phonenumbers.SUPPORTED_REGIONS)
_PHONE_EXPECTED = "expected digits with an optional leading '+', spaces, dashes, dots or brackets"

_PARSE_ERRORS: Mapping[int, str] = MappingProxyType(
    {
        NumberParseException.INVALID_COUNTRY_CODE: "unknown country calling code",
        NumberParseException.NOT_A_NUMBER: "does not look like a phone number",
        NumberParseException.TOO_SHORT_AFTER_IDD: "too short after the international prefix",
        NumberParseException.TOO_SHORT_NSN: "too short",
        NumberParseException.TOO_LONG: "too long",
    }
)
_IMPOSSIBLE: Mapping[int, str] = MappingProxyType(
    {
        ValidationResult.INVALID_COUNTRY_CODE: "unknown country calling code",
        ValidationResult.TOO_SHORT: "too short for its country",
        ValidationResult.TOO_LONG: "too long for its country",
        ValidationResult.INVALID_LENGTH: "wrong number of digits for its country",
        ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "a local number without its area code",
    }
)


# phonenumbers.parse costs ~50 µs and sources repeat the same numbers (call logs,
# CRM and helpdesk rows of one customer), so results are memoised; the function is pure.
@functools.lru_cache(maxsize=1 << 16)
def _phone(value: str, region: str | None) -> str:
    text = value.strip()
    if text[:4].lower() == "tel:":
        text = text[4:].strip()
    if _PHONE_LETTER.search(text):
        raise _RejectedError(f"contains letters; {_PHONE_EXPECTED}, no extension")
    if bad := _PHONE_BAD_CHAR.search(text):
        raise _RejectedError(f"contains {bad.group()!r}; {_PHONE_EXPECTED}")
    if not _PHONE_DIGIT.search(text):
        raise _RejectedError("no digits")
    if text.startswith("00"):  # the international prefix of most countries
        text = "+" + text[2:]
    national_region = None if text.startswith("+") else _national_region(region)
    try:
        number = phonenumbers.parse(text, national_region)
    except NumberParseException as exc:
        raise _RejectedError(_PARSE_ERRORS.get(exc.error_type, str(exc))) from None
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible != ValidationResult.IS_POSSIBLE:
        raise _RejectedError(_IMPOSSIBLE.get(possible, "not a possible number"))
    # Strict E.164: an Argentine mobile written '+54 9 11…' and '+54 11…' gives two
    # values; folding such national habits is a matching decision, not parsing.
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _national_region(region: str | None) -> str:
    """The region to read a national number in, or the reason there is none."""
    if not region:
        raise _RejectedError(
            "national number without a country; expected '+<country code>…' "
            "or a record with attributes.country"
        )
    code = region.strip().upper()
    if code not in _PHONE_REGIONS:
        raise _RejectedError(
            f"country {region!r} is not an ISO 3166 alpha-2 code with a phone plan"
        )
    return code


# --- account, national_id, opaque ---------------------------------------------

_CODE_SEPARATORS = re.compile(r"[\s./\-\u2010-\u2015]+")
_CODE_BAD_CHAR = re.compile(r"[^A-Z0-9]")


def _code(value: str, region: str | None) -> str:
    text = _CODE_SEPARATORS.sub("", value.upper())
    if bad := _CODE_BAD_CHAR.search(text):
        raise _RejectedError(
            f"contains {bad.group()!r}; expected letters and digits, "
            "optionally separated by spaces, dashes, dots or slashes"
        )
    if not text:
        raise _RejectedError("no letters or digits")
    return text


def _opaque(value: str, region: str | None) -> str:
    return value.strip()


# --- ip ------------------------------------------------------------------------


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
# Dotted-quad text without leading zeros is already canonical: skips ipaddress (~10 µs).
_CANONICAL_IPV4 = re.compile(rf"(?:{_OCTET}\.){{3}}{_OCTET}")


def _ip(value: str, region: str | None) -> str:
    text = value.strip()
    if _CANONICAL_IPV4.fullmatch(text):
        return text
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if "%" in text:
        # A zone id names an interface on one host; it means nothing to anyone else.
        raise _RejectedError("has an IPv6 zone id ('%…'); expected the address without it")
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise _RejectedError("expected IPv4 like 203.0.113.7 or IPv6 like 2001:db8::1") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)  # IPv6 text is compressed and lower-case


# --- social networks -----------------------------------------------------------

_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*://")


@dataclass(frozen=True, slots=True)
class _Network:
    """Where one network's profile URLs live and what its handles look like."""

    label: str
    example: str  # a profile URL, quoted in error messages
    hosts: frozenset[str]  # without 'www.'; empty means any host (federated networks)
    paths: tuple[re.Pattern[str], ...]  # profile paths, tried in order; group 'h' is the handle
    handle: re.Pattern[str]
    expected: str  # what a valid handle looks like, for error messages
    reserved: frozenset[str] = frozenset()  # first path segments that are not profiles
    id_path: str | None = None  # path whose '?id=' query is the handle (Facebook)
    ignore_dots: bool = False
    country_subdomains: bool = False  # 'ar.linkedin.com' is 'linkedin.com'
    federated: bool = False  # the handle is 'user@instance'

    def normalise(self, value: str, region: str | None) -> str:
        """The bare lower-cased handle from an '@handle', a handle or a profile URL."""
        text = value.strip().lower()
        if "/" in text:
            handle = self._from_url(text)
        else:
            handle = text.removeprefix("@")
            if self.federated and "@" not in handle:
                raise _RejectedError(f"no instance; expected {self.expected}")
        if self.ignore_dots:
            handle = handle.replace(".", "")
        if not self.handle.fullmatch(handle):
            raise _RejectedError(f"expected {self.expected}, got {handle!r}")
        return handle

    def _from_url(self, text: str) -> str:
        try:
            url = urlsplit(text if _SCHEME.match(text) else "https://" + text)
            host = (url.hostname or "").removeprefix("www.")
        except ValueError:
            raise _RejectedError(f"not a valid URL; expected e.g. {self.example}") from None
        if not self._host_ok(host):
            raise _RejectedError(
                f"{host or 'no host'} is not a {self.label} host; expected {self.example}"
            )
        path = unquote(url.path)
        if self.id_path is not None and path.rstrip("/") == self.id_path:
            return _query_id(url.query, self.example)
        for pattern in self.paths:
            if (found := pattern.match(path)) and found["h"] not in self.reserved:
                return f"{found['h']}@{host}" if self.federated else found["h"]
        raise _RejectedError(f"{path or '/'!r} is not a profile path; expected e.g. {self.example}")

    def _host_ok(self, host: str) -> bool:
        if not self.hosts:
            return "." in host
        if host in self.hosts:
            return True
        first, _, rest = host.partition(".")
        return self.country_subdomains and len(first) == 2 and rest in self.hosts


def _query_id(query: str, example: str) -> str:
    ids = parse_qs(query).get("id", [])
    if not ids:
        raise _RejectedError(f"profile URL without '?id='; expected e.g. {example}")
    return ids[0]


def _path(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in patterns)


_SEGMENT = r"(?P<h>[^/]+)"
_FIRST_SEGMENT = _path(rf"/{_SEGMENT}")
_AT_SEGMENT = _path(rf"/@{_SEGMENT}")
_INSTAGRAM_HANDLE = re.compile(r"[a-z0-9._]{1,30}")
_INSTAGRAM_EXPECTED = "1-30 letters, digits, '.' or '_'"

_NETWORKS: Mapping[str, _Network] = MappingProxyType(
    {
        "twitter": _Network(
            label="Twitter",
            example="https://x.com/name",
            hosts=frozenset({"twitter.com", "x.com", "mobile.twitter.com", "mobile.x.com"}),
            paths=_path(rf"/@?{_SEGMENT}"),
            handle=re.compile(r"[a-z0-9_]{1,15}"),
            expected="1-15 letters, digits or '_'",
            reserved=frozenset(
                {"i", "intent", "home", "search", "hashtag", "share", "explore", "settings"}
                | {"messages", "notifications", "login", "signup", "compose", "tos", "privacy"}
            ),
        ),
        "facebook": _Network(
            label="Facebook",
            example="https://facebook.com/name or https://facebook.com/profile.php?id=123",
            hosts=frozenset(
                {"facebook.com", "fb.com", "m.facebook.com", "mbasic.facebook.com"}
                | {"web.facebook.com", "business.facebook.com"}
            ),
            paths=_path(r"/people/[^/]+/(?P<h>\d+)", rf"/{_SEGMENT}"),
            # Facebook ignores dots in usernames: 'carlos.f' and 'carlosf' are one profile.
            handle=re.compile(r"[a-z0-9]{1,50}"),
            expected="letters, digits and '.', or a numeric profile id",
            reserved=frozenset(
                {"groups", "pages", "events", "watch", "marketplace", "gaming", "login"}
                | {"help", "sharer", "sharer.php", "share", "photo.php", "permalink.php"}
                | {"story.php", "people", "profile.php"}
            ),
            id_path="/profile.php",
            ignore_dots=True,
        ),
        "linkedin": _Network(
            label="LinkedIn",
            example="https://linkedin.com/in/name",
            hosts=frozenset({"linkedin.com", "m.linkedin.com"}),
            paths=_path(rf"/in/{_SEGMENT}", rf"/pub/{_SEGMENT}"),
            handle=re.compile(r"[\w-]{3,100}"),
            expected="3-100 letters, digits or '-'",
            country_subdomains=True,
        ),
        "instagram": _Network(
            label="Instagram",
            example="https://instagram.com/name",
            hosts=frozenset({"instagram.com", "m.instagram.com", "instagr.am"}),
            paths=_FIRST_SEGMENT,
            handle=_INSTAGRAM_HANDLE,
            expected=_INSTAGRAM_EXPECTED,
            reserved=frozenset({"p", "reel", "reels", "explore", "stories", "accounts"})
            | frozenset({"direct", "tv"}),
        ),
        "github": _Network(
            label="GitHub",
            example="https://github.com/name",
            hosts=frozenset({"github.com"}),
            paths=_FIRST_SEGMENT,
            handle=re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){0,38}"),
            expected="1-39 letters, digits or single inner '-'",
            reserved=frozenset({"orgs", "settings", "marketplace", "topics", "explore"})
            | frozenset({"features", "login", "sponsors", "notifications", "pulls", "issues"}),
        ),
        "tiktok": _Network(
            label="TikTok",
            example="https://tiktok.com/@name",
            hosts=frozenset({"tiktok.com", "m.tiktok.com"}),
            paths=_AT_SEGMENT,
            handle=re.compile(r"[a-z0-9._]{2,24}"),
            expected="2-24 letters, digits, '.' or '_'",
        ),
        "youtube": _Network(
            label="YouTube",
            example="https://youtube.com/@name",
            hosts=frozenset({"youtube.com", "m.youtube.com"}),
            paths=_path(rf"/@{_SEGMENT}", rf"/c/{_SEGMENT}", rf"/user/{_SEGMENT}"),
            handle=re.compile(r"[\w.-]{1,100}"),
            expected="letters, digits, '.', '-' or '_'",
        ),
        "threads": _Network(
            label="Threads",
            example="https://threads.net/@name",
            hosts=frozenset({"threads.net", "threads.com"}),
            paths=_AT_SEGMENT,
            handle=_INSTAGRAM_HANDLE,  # Threads handles are Instagram handles
            expected=_INSTAGRAM_EXPECTED,
        ),
        "telegram": _Network(
            label="Telegram",
            example="https://t.me/name",
            hosts=frozenset({"t.me", "telegram.me"}),
            paths=_FIRST_SEGMENT,
            handle=re.compile(r"[a-z0-9_]{5,32}"),
            expected="5-32 letters, digits or '_'",
            reserved=frozenset({"joinchat", "addstickers", "share", "s"}),
        ),
        "bluesky": _Network(
            label="Bluesky",
            example="https://bsky.app/profile/name.bsky.social",
            hosts=frozenset({"bsky.app"}),
            paths=_path(rf"/profile/{_SEGMENT}"),
            handle=re.compile(
                r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+"
            ),
            expected="a domain such as name.bsky.social",
        ),
        "mastodon": _Network(
            label="Mastodon",
            example="https://mastodon.social/@name",
            hosts=frozenset(),
            paths=_AT_SEGMENT,
            handle=re.compile(r"[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?@[a-z0-9-]+(?:\.[a-z0-9-]+)+"),
            expected="user@instance, e.g. name@mastodon.social",
            federated=True,
        ),
    }
)

SOCIAL_NETWORKS: frozenset[str] = frozenset(_NETWORKS)

# --- dispatch ------------------------------------------------------------------

_NORMALISERS: Mapping[str, _Normaliser] = MappingProxyType(
    {
        "email": _email,
        "phone": _phone,
        "account": _code,
        "national_id": _code,
        "employee_id": _opaque,
        "ip": _ip,
        "device": _opaque,
        **{name: network.normalise for name, network in _NETWORKS.items()},
    }
)

KNOWN_TYPES: frozenset[str] = frozenset(_NORMALISERS)
"""Identifier types with their own rules; any other type is an opaque exact-match key."""

_STRENGTHS: Mapping[str, Strength] = MappingProxyType(
    {
        "email": Strength.STRONG,
        "phone": Strength.STRONG,
        "account": Strength.STRONG,
        "employee_id": Strength.STRONG,
        "national_id": Strength.STRONG,
        "ip": Strength.WEAK,
        "device": Strength.MEDIUM,
        **dict.fromkeys(SOCIAL_NETWORKS, Strength.STRONG),
    }
)

_DESCRIPTIONS: Mapping[str, str] = MappingProxyType(
    {
        "email": "an email address",
        "phone": "a phone number",
        "account": "an account number",
        "national_id": "a national id",
        "employee_id": "an employee id",
        "ip": "an IP address",
        "device": "a device id",
        "": "a valid identifier",
        **{name: f"a {network.label} handle" for name, network in _NETWORKS.items()},
    }
)


def _describe(type_: str) -> str:
    return _DESCRIPTIONS.get(type_) or f"a valid {type_!r} identifier"


def normalise(type_: str, value: str, *, region: str | None = None) -> str:
    """The canonical form of ``value`` as an identifier of ``type_``.

    ``region`` (ISO 3166 alpha-2) is the country national phone numbers are read
    in. Raises IdentifierError saying what is wrong and what is expected.
    """
    canonical = canonical_type(type_)
    if not canonical:
        raise IdentifierError("", value, "the identifier type is empty; expected e.g. 'email'")
    if not value.strip():
        raise IdentifierError(canonical, value, "empty value")
    try:
        return _NORMALISERS.get(canonical, _opaque)(value, region)
    except _RejectedError as exc:
        raise IdentifierError(canonical, value, str(exc)) from None


@functools.lru_cache(maxsize=1024)
def strength(type_: str) -> Strength:
    """How much an identifier of ``type_`` says about who carries it."""
    return _STRENGTHS.get(canonical_type(type_), Strength.MEDIUM)
