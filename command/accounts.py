"""The account aggregate: what the command side must know of a user to change it.

An ``Account`` is the fold of its stream (``tessera.schema.accounts``). Its
``decide_*`` methods are pure: they check a command against the account and
return the records to append, or raise ``AccountError``; they never change the
account (``StreamRepository.write`` folds the records in once committed).
"""

from __future__ import annotations

import dataclasses

from tessera.schema import accounts as rec
from tessera.schema.log import LogRecord, NewRecord


class AccountError(Exception):
    """A command refused: ``errcode`` and ``status`` are the Matrix error to answer."""

    def __init__(self, status: int, errcode: str, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.errcode = errcode
        self.error = error


def user_in_use() -> AccountError:
    return AccountError(400, "M_USER_IN_USE", "User ID already taken")


def unknown_device() -> AccountError:
    return AccountError(404, "M_NOT_FOUND", "Unknown device")


@dataclasses.dataclass(slots=True)
class Token:
    device_id: str
    expires_at: int | None


@dataclasses.dataclass(slots=True)
class RefreshToken:
    device_id: str
    token_sha256: str
    used: bool = False


class Account:
    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        self.stream_version = 0
        self.exists = False
        self.password_hash: str | None = None
        self.is_admin = False
        self.deactivated = False
        #: device ID -> display name
        self.devices: dict[str, str | None] = {}
        #: SHA-256 of each live access token -> its device and expiry
        self.tokens: dict[str, Token] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.profile: dict[str, str | None] = {f: None for f in rec.PROFILE_FIELDS}

    # --- the fold -----------------------------------------------------------------

    def apply(self, record: LogRecord | NewRecord) -> None:
        self.stream_version = record.version
        event = rec.decode(record.kind, record.payload)
        match event:
            case rec.Registered(password_hash=h, is_admin=admin):
                self.exists, self.password_hash, self.is_admin = True, h, admin
            case rec.PasswordChanged(password_hash=h):
                self.password_hash = h
            case rec.Deactivated():
                self.deactivated = True
                self.password_hash = None
            case rec.AdminSet(is_admin=admin):
                self.is_admin = admin
            case rec.DeviceAdded(device_id=d, display_name=name):
                self.devices[d] = name
            case rec.DeviceRenamed(device_id=d, display_name=name):
                self.devices[d] = name
            case rec.DeviceDeleted(device_id=d):
                self.devices.pop(d, None)
            case rec.TokenIssued(token_sha256=t, device_id=d, expires_at=exp):
                self.tokens[t] = Token(d, exp)
            case rec.TokenRevoked(token_sha256=t):
                self.tokens.pop(t, None)
            case rec.RefreshTokenIssued(refresh_sha256=r, device_id=d, token_sha256=t):
                self.refresh_tokens[r] = RefreshToken(d, t)
            case rec.RefreshTokenUsed(refresh_sha256=r):
                self.refresh_tokens.pop(r, None)
            case rec.ProfileSet(field=f, value=v):
                self.profile[f] = v
            case rec.DeviceSeen() | None:
                # Bookkeeping for /devices only: no decision depends on it.
                pass

    # --- building records ---------------------------------------------------------

    def records(self, *events: rec.AccountRecord) -> list[NewRecord]:
        return [
            NewRecord(self.user_id, self.stream_version + 1 + i, e.KIND, rec.encode(e))
            for i, e in enumerate(events)
        ]

    def _require_active(self) -> None:
        if not self.exists:
            raise AccountError(404, "M_NOT_FOUND", "No such user")
        if self.deactivated:
            raise AccountError(403, "M_USER_DEACTIVATED", "This account has been deactivated")

    def device_records(self, device_id: str) -> list[rec.AccountRecord]:
        """Deleting a device: revoke its tokens and refresh tokens, then the device."""
        out: list[rec.AccountRecord] = [
            rec.TokenRevoked(t)
            for t, tok in sorted(self.tokens.items())
            if tok.device_id == device_id
        ]
        out += [
            rec.RefreshTokenUsed(r)
            for r, tok in sorted(self.refresh_tokens.items())
            if tok.device_id == device_id
        ]
        out.append(rec.DeviceDeleted(device_id))
        return out

    def session_records(
        self,
        *,
        device_id: str,
        display_name: str | None,
        token: str,
        expires_at: int | None,
        refresh_token: str | None,
        now: int,
    ) -> list[rec.AccountRecord]:
        """A login: the device (when new) and its access (and refresh) token."""
        out: list[rec.AccountRecord] = []
        if device_id not in self.devices:
            out.append(rec.DeviceAdded(device_id, display_name, now))
        sha = rec.token_hash(token)
        out.append(rec.TokenIssued(sha, device_id, expires_at, now))
        if refresh_token is not None:
            out.append(rec.RefreshTokenIssued(rec.token_hash(refresh_token), device_id, sha))
        return out

    # --- decisions ------------------------------------------------------------------

    def decide_register(
        self, password_hash: str | None, is_admin: bool, now: int
    ) -> list[rec.AccountRecord]:
        if self.exists:
            raise user_in_use()
        return [rec.Registered(password_hash, is_admin, now)]

    def decide_login(self, verified_hash: str | None) -> None:
        """Refuse a login whose password was verified against a hash that is no
        longer the account's (changed meanwhile, possibly by another process)."""
        self._require_active()
        if verified_hash is not None and verified_hash != self.password_hash:
            raise AccountError(403, "M_FORBIDDEN", "Invalid username or password")

    def decide_logout(self, token_sha256: str) -> list[rec.AccountRecord]:
        token = self.tokens.get(token_sha256)
        if token is None:
            return []
        return self.device_records(token.device_id)

    def decide_logout_all(self) -> list[rec.AccountRecord]:
        out: list[rec.AccountRecord] = []
        for device_id in sorted(self.devices):
            out += self.device_records(device_id)
        # Tokens of devices already gone (should not exist, but never leave one live).
        for sha, tok in sorted(self.tokens.items()):
            if tok.device_id not in self.devices:
                out.append(rec.TokenRevoked(sha))
        return out

    def decide_password(
        self, new_hash: str, keep_device: str | None, logout_devices: bool, now: int
    ) -> list[rec.AccountRecord]:
        self._require_active()
        out: list[rec.AccountRecord] = [rec.PasswordChanged(new_hash, now)]
        if logout_devices:
            for device_id in sorted(self.devices):
                if device_id != keep_device:
                    out += self.device_records(device_id)
        return out

    def decide_deactivate(self, now: int) -> list[rec.AccountRecord]:
        self._require_active()
        out = self.decide_logout_all()
        out += [rec.ProfileSet(f, None) for f in rec.PROFILE_FIELDS if self.profile[f] is not None]
        out.append(rec.Deactivated(now))
        return out

    def decide_rename_device(self, device_id: str, name: str | None) -> list[rec.AccountRecord]:
        if device_id not in self.devices:
            raise unknown_device()
        if self.devices[device_id] == name:
            return []
        return [rec.DeviceRenamed(device_id, name)]

    def decide_delete_devices(self, device_ids: list[str]) -> list[rec.AccountRecord]:
        out: list[rec.AccountRecord] = []
        for device_id in dict.fromkeys(device_ids):
            if device_id in self.devices:
                out += self.device_records(device_id)
        return out

    def decide_seen(self, seen: dict[str, tuple[int, str]]) -> list[rec.AccountRecord]:
        """Record when (ms) and from where each device was last seen; devices deleted
        meanwhile are skipped."""
        return [
            rec.DeviceSeen(d, ts, ip) for d, (ts, ip) in sorted(seen.items()) if d in self.devices
        ]

    def decide_profile(self, field: str, value: str | None) -> list[rec.AccountRecord]:
        self._require_active()
        if field not in self.profile:
            raise AccountError(400, "M_INVALID_PARAM", f"Unknown profile field {field}")
        if self.profile[field] == value:
            return []
        return [rec.ProfileSet(field, value)]

    def decide_refresh(
        self, refresh_sha256: str, token: str, expires_at: int, new_refresh: str, now: int
    ) -> list[rec.AccountRecord]:
        old = self.refresh_tokens.get(refresh_sha256)
        if old is None or self.deactivated or old.device_id not in self.devices:
            raise AccountError(401, "M_UNKNOWN_TOKEN", "Unknown refresh token")
        out: list[rec.AccountRecord] = [rec.RefreshTokenUsed(refresh_sha256)]
        if old.token_sha256 in self.tokens:
            out.append(rec.TokenRevoked(old.token_sha256))
        sha = rec.token_hash(token)
        out.append(rec.TokenIssued(sha, old.device_id, expires_at, now))
        out.append(rec.RefreshTokenIssued(rec.token_hash(new_refresh), old.device_id, sha))
        return out
