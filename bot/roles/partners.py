"""Partner channels: a partner's web form, SMS gateway or call centre files reports over Open311
POST with an API key made from the admin command line (bot/admin/api_keys.py).

A key is random (secrets.token_urlsafe), shown once when it is made, and stored as its SHA-256
only: a leaked database holds no usable key. A request's key is found by its hash, so no stored
secret is ever compared character by character. Revoking a key keeps its row, its partner's
name and its stand-in citizen, the author of the reports it filed (storage/queries/api_keys.py).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.queries import api_keys as queries

KEY_BYTES = 32  # 43 url-safe characters
MAX_NAME = 64
_NAME = re.compile(r"[\w][\w .,&'()/+-]*", re.UNICODE)


class PartnerError(Exception):
    """A request about partners that cannot be done; the message says why."""


class InvalidName(PartnerError):
    pass


class PartnerExists(PartnerError):
    pass


class UnknownPartner(PartnerError):
    pass


class AlreadyRevoked(PartnerError):
    pass


@dataclass(frozen=True)
class Partner:
    """A partner as a request authenticated it."""

    key_id: int
    name: str
    citizen_id: int  # its stand-in, the author of its reports


@dataclass(frozen=True)
class PartnerKey:
    """A key as the admin sees it: never the key, never its hash."""

    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def clean_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not name or len(name) > MAX_NAME or not _NAME.fullmatch(name):
        raise InvalidName(
            f"a partner's name is 1 to {MAX_NAME} letters, digits, spaces and . , & ' ( ) / + -"
            f", starting with a letter or digit; got {raw!r}"
        )
    return name


async def create(db: Database, name: str, now: datetime) -> str:
    """A new key for a new partner; returns the key, to be shown once and never again."""
    name = clean_name(name)
    key = secrets.token_urlsafe(KEY_BYTES)
    try:
        async with db.write() as session:
            if await queries.by_partner(session, name) is not None:
                raise PartnerExists(name)
            await queries.add(session, name, hash_key(key), now)
    except IntegrityError:  # made at the same moment by another admin
        raise PartnerExists(name) from None
    return key


async def listing(db: Database) -> list[PartnerKey]:
    async with db.read() as session:
        rows = await queries.every(session)
    return [PartnerKey(r.partner, r.created_at, r.last_used_at, r.revoked_at) for r in rows]


async def revoke(db: Database, name: str, now: datetime) -> None:
    async with db.write() as session:
        row = await queries.by_partner(session, " ".join(name.split()), lock=True)
        if row is None:
            raise UnknownPartner(name)
        if row.revoked_at is not None:
            raise AlreadyRevoked(name)
        row.revoked_at = now


class KeyRefused(PartnerError):
    """No key, an unknown one, or a revoked one (the message says which)."""


async def authenticate(db: Database, key: str | None) -> Partner:
    """The partner whose key this is; KeyRefused for a missing, unknown or revoked key."""
    if not key:
        raise KeyRefused("api_key is required to create a service request")
    async with db.read() as session:
        row = await queries.by_hash(session, hash_key(key))
    if row is None:
        raise KeyRefused("api_key is not valid")
    if row.revoked_at is not None:
        raise KeyRefused("api_key was revoked")
    return Partner(row.id, row.partner, row.citizen_id)
