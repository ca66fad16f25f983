"""API keys with roles. Keys are random 256-bit secrets, so a plain SHA-256 is
the right hash to store (a slow password hash protects guessable secrets only).
Roles nest: an admin can do what a steward can, a steward what an agent can."""

from __future__ import annotations

import hashlib
import secrets
from enum import StrEnum

from graph.store import GraphWriter
from resolvers.online import utc_now

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


def role_of(writer: GraphWriter, key: str | None) -> Role | None:
    """The role of a presented key, or None when missing or unknown."""
    if not key or not key.startswith(KEY_PREFIX):
        return None
    role = writer.api_key_role(hash_key(key))
    return Role(role) if role else None
