"""Parse and normalise identifier values (record-format.md, "Identifier types").

Every identifier is normalised here and nowhere else, so records that carry the
same email, phone or handle in different spellings meet on one graph key. The
social-network rules (hosts, profile paths, handle shapes) are in
``resolvers.handles``; this module is the API every caller uses.

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

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

from resolvers.handles import _NETWORKS, _RejectedError
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


# --- social networks (rules in resolvers.handles) ------------------------------

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
