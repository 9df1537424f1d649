"""Account commands: register, log in and out, change password, deactivate, devices, profile.

Each handler is a short async function: slow work first and outside any lock
(Argon2 hashing, in ``Passwords``), then one ``AccountRepository.write`` whose
``decide`` checks the command against the account and returns the records.
Handlers return the log positions they committed; the HTTP layer waits for the
projections to apply them before answering (DESIGN invariant 3).
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Awaitable, Callable, Sequence

from tessera.schema import accounts as rec
from tessera.schema.log import EventStore, NewRecord

from .accounts import Account, AccountError
from .group_commit import GroupCommitter
from .passwords import Passwords
from .streams import StreamRepository


class AccountRepository(StreamRepository[Account]):
    def __init__(
        self, store: EventStore, committer: GroupCommitter, *, max_cached: int = 10_000
    ) -> None:
        super().__init__(store, committer, Account, max_cached=max_cached)
        #: Called with the user ID and the device IDs after a change that deleted
        #: devices committed (logout, device deletion, deactivation): other
        #: aggregates holding per-device state (keys) forget those devices.
        self.on_devices_deleted: list[Callable[[str, list[str]], Awaitable[None]]] = []

    async def change(
        self, user_id: str, decide: Callable[[Account], list[rec.AccountRecord]]
    ) -> list[int]:
        """Append what ``decide`` returns for the account; the committed positions."""
        deleted: list[str] = []

        def records(account: Account) -> tuple[Sequence[NewRecord], None]:
            events = decide(account)
            deleted[:] = [e.device_id for e in events if isinstance(e, rec.DeviceDeleted)]
            return account.records(*events), None

        positions, _ = await self.write(user_id, records)
        if positions and deleted:
            for hook in self.on_devices_deleted:
                await hook(user_id, deleted)
        return positions


@dataclasses.dataclass(frozen=True, slots=True)
class Session:
    """What a successful login or registration hands the client."""

    user_id: str
    device_id: str
    access_token: str
    refresh_token: str | None
    #: Milliseconds the access token lives; None when it does not expire.
    expires_in_ms: int | None
    positions: list[int]


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def new_device_id() -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return "".join(secrets.choice(alphabet) for _ in range(10))


@dataclasses.dataclass(frozen=True, slots=True)
class Login:
    """A session to open: the device (None: a new one) and the token options."""

    device_id: str | None = None
    display_name: str | None = None
    refresh: bool = False
    #: How long an access token lives when ``refresh`` is asked for (ms).
    lifetime_ms: int = 5 * 60 * 1000


def _session_records(
    account: Account, login: Login, device_id: str, now: int
) -> tuple[list[rec.AccountRecord], str, str | None, int | None]:
    token = new_token("tat_")
    refresh = new_token("trt_") if login.refresh else None
    expires_at = now + login.lifetime_ms if login.refresh else None
    events = account.session_records(
        device_id=device_id,
        display_name=login.display_name,
        token=token,
        expires_at=expires_at,
        refresh_token=refresh,
        now=now,
    )
    return events, token, refresh, (login.lifetime_ms if login.refresh else None)


async def register(
    accounts: AccountRepository,
    passwords: Passwords,
    *,
    user_id: str,
    password: str | None,
    login: Login | None,
    now: int,
    is_admin: bool = False,
) -> tuple[list[int], Session | None]:
    """Create the account (M_USER_IN_USE if it exists); open a session unless
    ``login`` is None (``inhibit_login``). Returns the positions and the session."""
    password_hash = await passwords.hash(password) if password is not None else None
    device_id = (login.device_id or new_device_id()) if login else ""
    out: dict[str, tuple[str, str | None, int | None]] = {}

    def decide(account: Account) -> list[rec.AccountRecord]:
        events = account.decide_register(password_hash, is_admin, now)
        if login is None:
            return events
        account_after = Account(account.user_id)  # the session is decided on the new account
        more, token, refresh, lifetime = _session_records(account_after, login, device_id, now)
        out["session"] = (token, refresh, lifetime)
        return events + more

    positions = await accounts.change(user_id, decide)
    if login is None:
        return positions, None
    token, refresh, lifetime = out["session"]
    return positions, Session(user_id, device_id, token, refresh, lifetime, positions)


def bad_login() -> AccountError:
    return AccountError(403, "M_FORBIDDEN", "Invalid username or password")


async def login_with_password(
    accounts: AccountRepository,
    passwords: Passwords,
    *,
    user_id: str,
    password_hash: str | None,
    password: str,
    login: Login,
    now: int,
) -> Session:
    """Open a session for ``user_id`` whose stored hash (from the read model) is
    ``password_hash``. The account must still have that hash when the session is
    written: a password changed meanwhile, anywhere, refuses the login."""
    if not await passwords.verify(password_hash, password) or password_hash is None:
        raise bad_login()
    device_id = login.device_id or new_device_id()
    out: dict[str, tuple[str, str | None, int | None]] = {}

    def decide(account: Account) -> list[rec.AccountRecord]:
        if not account.exists:
            raise bad_login()
        account.decide_login(password_hash)
        events, token, refresh, lifetime = _session_records(account, login, device_id, now)
        out["session"] = (token, refresh, lifetime)
        return events

    positions = await accounts.change(user_id, decide)
    token, refresh, lifetime = out["session"]
    return Session(user_id, device_id, token, refresh, lifetime, positions)


async def refresh_session(
    accounts: AccountRepository, user_id: str, refresh_token: str, lifetime_ms: int, now: int
) -> Session:
    token, new_refresh = new_token("tat_"), new_token("trt_")
    device: list[str] = []

    def decide(account: Account) -> list[rec.AccountRecord]:
        sha = rec.token_hash(refresh_token)
        events = account.decide_refresh(sha, token, now + lifetime_ms, new_refresh, now)
        device[:] = [account.refresh_tokens[sha].device_id]
        return events

    positions = await accounts.change(user_id, decide)
    return Session(user_id, device[0], token, new_refresh, lifetime_ms, positions)


async def verify_password(
    accounts: AccountRepository, passwords: Passwords, user_id: str, password: str
) -> str:
    """User-interactive auth by password: the hash verified (raises M_FORBIDDEN).

    Reads the aggregate after catching it up with the log, so a password changed
    by another process is the one checked."""
    account = await accounts.current(user_id)
    current = account.password_hash
    if account.deactivated or not await passwords.verify(current, password) or current is None:
        raise bad_login()
    return current
