"""Record kinds of a user's account stream (the stream is the user ID, ``@alice:hs``).

Every change to an account, its devices, its tokens and its profile is one of
these records; the ``accounts`` projection and the in-memory token map are
folds of them. Payloads are canonical JSON objects of the dataclass's fields
(``schema/payloads.py``).

Secrets never enter the log: a password appears only as its Argon2id hash, an
access or refresh token only as the SHA-256 of its text (hex). Times are
milliseconds since the epoch.

Kinds (``account.`` + the suffix in each class's ``KIND``):

- ``account.registered``: the account exists (first record of the stream);
- ``account.password_changed``, ``account.deactivated``, ``account.admin_set``;
- ``account.device_added`` / ``account.device_renamed`` / ``account.device_deleted``
  (deleting a device revokes its tokens: the record says which);
- ``account.token_issued`` / ``account.token_revoked``: access tokens;
- ``account.refresh_token_issued`` / ``account.refresh_token_used``;
- ``account.profile_set``: the display name or avatar URL changed;
- ``account.device_seen``: when and from where a device last made a request
  (written in batches, at most once per device per flush interval; decisions
  ignore it).
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any, ClassVar, TypeAlias

from tessera.schema.payloads import CanonicalJsonRecord

PREFIX = "account."


def token_hash(token: str) -> str:
    """The form in which a token is stored and looked up: SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclasses.dataclass(frozen=True, slots=True)
class Registered(CanonicalJsonRecord):
    KIND: ClassVar[str] = "account.registered"
    #: Argon2id hash; None for an account that cannot log in with a password.
    password_hash: str | None
    is_admin: bool
    ts: int


@dataclasses.dataclass(frozen=True, slots=True)
class PasswordChanged(CanonicalJsonRecord):
    KIND: ClassVar[str] = "account.password_changed"
    password_hash: str
    ts: int


@dataclasses.dataclass(frozen=True, slots=True)
class Deactivated(CanonicalJsonRecord):
    KIND: ClassVar[str] = "account.deactivated"
    ts: int


@dataclasses.dataclass(frozen=True, slots=True)
class AdminSet(CanonicalJsonRecord):
    KIND: ClassVar[str] = "account.admin_set"
    is_admin: bool


@dataclasses.dataclass(frozen=True, slots=True)
class DeviceAdded(CanonicalJsonRecord):
    KIND: ClassVar[str] = "account.device_added"
    device_id: str
    display_name: str | None
    ts: int


@dataclasses.dataclass(frozen=True, slots=True)
class DeviceRenamed(CanonicalJsonRecord):
    KIND: ClassVar[str] = "account.device_renamed"
    device_id: str
    display_name: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class DeviceDeleted(CanonicalJsonRecord):
    KIND: ClassVar[str] = "account.device_deleted"
    device_id: str


@dataclasses.dataclass(frozen=True, slots=True)
class TokenIssued(CanonicalJsonRecord):
    KIND: ClassVar[str] = "account.token_issued"
    token_sha256: str
    device_id: str
    #: When the token stops working (ms); None: until revoked.
    expires_at: int | None
    ts: int


@dataclasses.dataclass(frozen=True, slots=True)
class TokenRevoked(CanonicalJsonRecord):
    KIND: ClassVar[str] = "account.token_revoked"
    token_sha256: str


@dataclasses.dataclass(frozen=True, slots=True)
class RefreshTokenIssued(CanonicalJsonRecord):
    KIND: ClassVar[str] = "account.refresh_token_issued"
    refresh_sha256: str
    device_id: str
    #: The access token issued with it: revoked when this refresh token is used.
    token_sha256: str


@dataclasses.dataclass(frozen=True, slots=True)
class RefreshTokenUsed(CanonicalJsonRecord):
    KIND: ClassVar[str] = "account.refresh_token_used"
    refresh_sha256: str


@dataclasses.dataclass(frozen=True, slots=True)
class ProfileSet(CanonicalJsonRecord):
    KIND: ClassVar[str] = "account.profile_set"
    #: ``displayname`` or ``avatar_url``.
    field: str
    value: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class DeviceSeen(CanonicalJsonRecord):
    KIND: ClassVar[str] = "account.device_seen"
    device_id: str
    #: The device's latest authenticated request (ms) and the address it came from.
    ts: int
    ip: str


AccountRecord: TypeAlias = (
    Registered
    | PasswordChanged
    | Deactivated
    | AdminSet
    | DeviceAdded
    | DeviceRenamed
    | DeviceDeleted
    | TokenIssued
    | TokenRevoked
    | RefreshTokenIssued
    | RefreshTokenUsed
    | ProfileSet
    | DeviceSeen
)

_TYPES: dict[str, type[Any]] = {
    cls.KIND: cls
    for cls in (
        Registered,
        PasswordChanged,
        Deactivated,
        AdminSet,
        DeviceAdded,
        DeviceRenamed,
        DeviceDeleted,
        TokenIssued,
        TokenRevoked,
        RefreshTokenIssued,
        RefreshTokenUsed,
        ProfileSet,
        DeviceSeen,
    )
}
KINDS = frozenset(_TYPES)
PROFILE_FIELDS = ("displayname", "avatar_url")


def encode(record: AccountRecord) -> bytes:
    return record.encode()


def decode(kind: str, payload: bytes) -> AccountRecord | None:
    """The record of ``kind``, or None for a kind that isn't an account kind."""
    cls = _TYPES.get(kind)
    if cls is None:
        return None
    record: AccountRecord = cls.decode(payload)
    return record
