"""Social-network handle rules: the network table behind ``resolvers.identifiers``.

For each network: the hosts and paths its profile URLs use and what a valid
handle looks like, so '@name', 'name' and a profile URL all give one bare,
lower-cased handle. ``resolvers.identifiers`` is the public API and imports
this module, never the reverse; that is why the normalisers' rejection
exception is defined here.

Invariant: every rule is built once at import, as in ``resolvers.identifiers``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import parse_qs, unquote, urlsplit


class _RejectedError(Exception):
    """Raised by a normaliser with the reason only; ``normalise`` adds type and value."""


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
