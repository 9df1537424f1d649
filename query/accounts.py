"""Reads of the accounts read models (``tessera.projections.accounts``).

Each function blocks (one small query); async callers use ``asyncio.to_thread``
or the ``a``-prefixed wrappers.
"""

from __future__ import annotations

import asyncio
import dataclasses

from tessera.schema.readmodel import ReadModelDatabase


@dataclasses.dataclass(frozen=True, slots=True)
class User:
    user_id: str
    password_hash: str | None
    is_admin: bool
    deactivated: bool
    displayname: str | None
    avatar_url: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class Device:
    device_id: str
    display_name: str | None
    created_ts: int
    #: The latest flushed sighting (ms, IP); None until one is recorded.
    last_seen_ts: int | None = None
    last_seen_ip: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class TokenRow:
    token_sha256: str
    user_id: str
    device_id: str
    expires_at: int | None
    revoked: bool
    position: int


def get_user(db: ReadModelDatabase, user_id: str) -> User | None:
    for row in db.iter_rows(
        "SELECT user_id, password_hash, is_admin, deactivated, displayname, avatar_url"
        " FROM accounts_users WHERE user_id = ?",
        (user_id,),
    ):
        return User(row[0], row[1], bool(row[2]), bool(row[3]), row[4], row[5])
    return None


async def aget_user(db: ReadModelDatabase, user_id: str) -> User | None:
    return await asyncio.to_thread(get_user, db, user_id)


def get_profile(db: ReadModelDatabase, user_id: str) -> dict[str, str] | None:
    """The user's profile as the spec's ``GET /profile`` body (absent fields left
    out), or None for a user this server doesn't know. Deactivated users have an
    empty profile."""
    user = get_user(db, user_id)
    if user is None:
        return None
    profile = {}
    if user.displayname is not None:
        profile["displayname"] = user.displayname
    if user.avatar_url is not None:
        profile["avatar_url"] = user.avatar_url
    return profile


async def aget_profile(db: ReadModelDatabase, user_id: str) -> dict[str, str] | None:
    return await asyncio.to_thread(get_profile, db, user_id)


def list_devices(db: ReadModelDatabase, user_id: str) -> list[Device]:
    return [
        Device(row[0], row[1], int(row[2]), None if row[3] is None else int(row[3]), row[4])
        for row in db.iter_rows(
            "SELECT d.device_id, d.display_name, d.created_ts, s.last_seen_ts, s.last_seen_ip"
            " FROM accounts_devices d LEFT JOIN accounts_devices_seen s"
            " ON s.user_id = d.user_id AND s.device_id = d.device_id"
            " WHERE d.user_id = ? ORDER BY d.device_id",
            (user_id,),
        )
    ]


def refresh_token_owner(db: ReadModelDatabase, refresh_sha256: str) -> str | None:
    for (user_id,) in db.iter_rows(
        "SELECT user_id FROM accounts_refresh_tokens WHERE refresh_sha256 = ?", (refresh_sha256,)
    ):
        return str(user_id)
    return None


def tokens_after(db: ReadModelDatabase, position: int) -> list[TokenRow]:
    """Token rows changed after ``position`` (all of them for 0), in position order."""
    return [
        TokenRow(r[0], r[1], r[2], None if r[3] is None else int(r[3]), bool(r[4]), int(r[5]))
        for r in db.iter_rows(
            "SELECT token_sha256, user_id, device_id, expires_at, revoked, position"
            " FROM accounts_tokens WHERE position > ? ORDER BY position",
            (position,),
        )
    ]


def admins(db: ReadModelDatabase) -> set[str]:
    return {
        str(r[0]) for r in db.iter_rows("SELECT user_id FROM accounts_users WHERE is_admin = 1")
    }
