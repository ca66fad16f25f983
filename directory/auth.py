"""API keys with roles. Keys are random 256-bit secrets, so a plain SHA-256 is
the right hash to store (a slow password hash protects guessable secrets only).
Roles nest: an admin can do what a steward can, a steward what an agent can."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum

from graph.store import GraphWriter
from resolvers.model import utc_now

KEY_PREFIX = "dir_"


class Role(StrEnum):
    """What a key may do."""

    AGENT = "agent"  # read profiles
    STEWARD = "steward"  # read, merge, split
    ADMIN = "admin"  # everything, ingest and settings included

    def allows(self, needed: Role) -> bool:
        """True when this role includes the needed one."""
        order = list(Role)
        return order.index(self) >= order.index(needed)


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(writer: GraphWriter, *, role: Role, name: str = "") -> str:
    """Mint a key, store its hash and return the key (shown once, never stored)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    writer.create_api_key(key_hash=hash_key(key), role=role.value, name=name, now=utc_now())
    return key


@dataclass(frozen=True)
class Caller:
    """Who presented a key: its role, and the name its actions are attributed to."""

    role: Role
    name: str


class RoleCache:
    """Callers of recently seen keys, so a request costs no key lookup in the graph.
    A revoked key stops working within `ttl_s`."""

    def __init__(self, ttl_s: float = 30.0, max_keys: int = 10_000) -> None:
        self._ttl_s = ttl_s
        self._max_keys = max_keys
        self._seen: dict[str, tuple[float, Caller | None]] = {}

    def caller_of(self, writer: GraphWriter, key: str | None) -> Caller | None:
        """Who presented a key, or None when it is missing or unknown."""
        if not key or not key.startswith(KEY_PREFIX):
            return None
        key_hash = hash_key(key)
        now = time.monotonic()
        cached = self._seen.get(key_hash)
        if cached and now - cached[0] < self._ttl_s:
            return cached[1]
        stored = writer.api_key(key_hash)
        # A key made without a name is named by its role and the start of its hash.
        caller = None
        if stored:
            caller = Caller(Role(stored[0]), stored[1] or f"{stored[0]}-{key_hash[:8]}")
        if len(self._seen) >= self._max_keys:
            self._seen.clear()  # bounded; guessed keys cannot grow it without limit
        self._seen[key_hash] = (now, caller)
        return caller

    def role_of(self, writer: GraphWriter, key: str | None) -> Role | None:
        """The role of a presented key, or None when missing or unknown."""
        caller = self.caller_of(writer, key)
        return caller.role if caller else None
