"""The accounts read models: users, devices, access tokens, refresh tokens.

Readers: login (the password hash by user ID), /devices, /profile, /refresh
(which user a refresh token belongs to) and the in-memory token map of every API
process (``tessera.app.authn``), which loads ``accounts_tokens`` at start and
then re-reads only the rows whose ``position`` moved past what it has seen.
That is why a revoked token keeps its row (``revoked = 1``) instead of being
deleted: a deletion could not be noticed incrementally.

When a device was last seen (``account.device_seen``) lives in a table of its
own rather than in columns of ``accounts_devices``: migrations run at every
start, and SQLite has no ``ADD COLUMN IF NOT EXISTS``, so new columns on an
existing table could not be added idempotently; a new table can.
"""

from __future__ import annotations

from tessera.schema import accounts as rec
from tessera.schema.log import LogRecord
from tessera.schema.readmodel import Change

name = "accounts"
tables: tuple[str, ...] = (
    "accounts_users",
    "accounts_devices",
    "accounts_tokens",
    "accounts_refresh_tokens",
    "accounts_devices_seen",
)
migrations: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS accounts_users ("
    " user_id TEXT PRIMARY KEY,"
    " password_hash TEXT,"
    " is_admin BIGINT NOT NULL,"
    " deactivated BIGINT NOT NULL,"
    " displayname TEXT,"
    " avatar_url TEXT,"
    " created_ts BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS accounts_devices ("
    " user_id TEXT NOT NULL,"
    " device_id TEXT NOT NULL,"
    " display_name TEXT,"
    " created_ts BIGINT NOT NULL,"
    " PRIMARY KEY (user_id, device_id))",
    "CREATE TABLE IF NOT EXISTS accounts_tokens ("
    " token_sha256 TEXT PRIMARY KEY,"
    " user_id TEXT NOT NULL,"
    " device_id TEXT NOT NULL,"
    " expires_at BIGINT,"
    " revoked BIGINT NOT NULL,"
    " position BIGINT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS accounts_tokens_position ON accounts_tokens (position)",
    "CREATE TABLE IF NOT EXISTS accounts_refresh_tokens ("
    " refresh_sha256 TEXT PRIMARY KEY,"
    " user_id TEXT NOT NULL,"
    " device_id TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS accounts_devices_seen ("
    " user_id TEXT NOT NULL,"
    " device_id TEXT NOT NULL,"
    " last_seen_ts BIGINT NOT NULL,"
    " last_seen_ip TEXT NOT NULL,"
    " PRIMARY KEY (user_id, device_id))",
)


def apply(record: LogRecord) -> list[Change]:
    event = rec.decode(record.kind, record.payload)
    user = record.stream
    match event:
        case rec.Registered(password_hash=h, is_admin=admin, ts=ts):
            return [
                Change(
                    "INSERT INTO accounts_users (user_id, password_hash, is_admin, deactivated,"
                    " displayname, avatar_url, created_ts) VALUES (?, ?, ?, 0, NULL, NULL, ?)",
                    (user, h, int(admin), ts),
                )
            ]
        case rec.PasswordChanged(password_hash=h):
            return [
                Change("UPDATE accounts_users SET password_hash = ? WHERE user_id = ?", (h, user))
            ]
        case rec.Deactivated():
            return [
                Change(
                    "UPDATE accounts_users SET deactivated = 1, password_hash = NULL"
                    " WHERE user_id = ?",
                    (user,),
                )
            ]
        case rec.AdminSet(is_admin=admin):
            return [
                Change(
                    "UPDATE accounts_users SET is_admin = ? WHERE user_id = ?", (int(admin), user)
                )
            ]
        case rec.DeviceAdded(device_id=d, display_name=n, ts=ts):
            return [
                Change(
                    "INSERT INTO accounts_devices (user_id, device_id, display_name, created_ts)"
                    " VALUES (?, ?, ?, ?)",
                    (user, d, n, ts),
                )
            ]
        case rec.DeviceRenamed(device_id=d, display_name=n):
            return [
                Change(
                    "UPDATE accounts_devices SET display_name = ?"
                    " WHERE user_id = ? AND device_id = ?",
                    (n, user, d),
                )
            ]
        case rec.DeviceDeleted(device_id=d):
            return [
                Change(
                    "DELETE FROM accounts_devices WHERE user_id = ? AND device_id = ?", (user, d)
                ),
                Change(
                    "DELETE FROM accounts_devices_seen WHERE user_id = ? AND device_id = ?",
                    (user, d),
                ),
            ]
        case rec.DeviceSeen(device_id=d, ts=ts, ip=ip):
            # Only for a device that still exists; processes flush independently,
            # so a late flush of an older sighting never overwrites a newer one.
            return [
                Change(
                    "INSERT INTO accounts_devices_seen"
                    " (user_id, device_id, last_seen_ts, last_seen_ip)"
                    " SELECT user_id, device_id, ?, ? FROM accounts_devices"
                    " WHERE user_id = ? AND device_id = ?"
                    " ON CONFLICT (user_id, device_id) DO UPDATE"
                    " SET last_seen_ts = excluded.last_seen_ts,"
                    " last_seen_ip = excluded.last_seen_ip"
                    " WHERE excluded.last_seen_ts >= accounts_devices_seen.last_seen_ts",
                    (ts, ip, user, d),
                )
            ]
        case rec.TokenIssued(token_sha256=t, device_id=d, expires_at=exp):
            return [
                Change(
                    "INSERT INTO accounts_tokens (token_sha256, user_id, device_id, expires_at,"
                    " revoked, position) VALUES (?, ?, ?, ?, 0, ?)",
                    (t, user, d, exp, record.position),
                )
            ]
        case rec.TokenRevoked(token_sha256=t):
            return [
                Change(
                    "UPDATE accounts_tokens SET revoked = 1, position = ? WHERE token_sha256 = ?",
                    (record.position, t),
                )
            ]
        case rec.RefreshTokenIssued(refresh_sha256=r, device_id=d):
            return [
                Change(
                    "INSERT INTO accounts_refresh_tokens (refresh_sha256, user_id, device_id)"
                    " VALUES (?, ?, ?)",
                    (r, user, d),
                )
            ]
        case rec.RefreshTokenUsed(refresh_sha256=r):
            return [Change("DELETE FROM accounts_refresh_tokens WHERE refresh_sha256 = ?", (r,))]
        case rec.ProfileSet(field=f, value=v):
            column = "displayname" if f == "displayname" else "avatar_url"
            return [Change(f"UPDATE accounts_users SET {column} = ? WHERE user_id = ?", (v, user))]
        case _:
            return []
