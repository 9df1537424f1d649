"""What the account endpoints share: user-interactive auth, settling a write,
turning refused account commands into Matrix errors, session bodies.

User-interactive auth (UIA) is stateless here: every flow this server offers
has one stage, so a request either carries a valid ``auth`` for it or is answered
401 with the flows and a fresh ``session`` ID. Nothing is stored between the
two requests, so they may reach different API processes.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from tessera.app.http.errors import MatrixError
from tessera.app.services import Services
from tessera.app.usernames import login_user_id
from tessera.command.account_handlers import Session, verify_password
from tessera.command.accounts import AccountError

PASSWORD = "m.login.password"
DUMMY = "m.login.dummy"
REGISTRATION_TOKEN = "m.login.registration_token"


class AuthRequired(MatrixError):
    """401 with the UIA flows: the client must (re)try with an ``auth`` dict."""

    def __init__(self, flows: Sequence[Sequence[str]], errcode: str = "", error: str = "") -> None:
        super().__init__(401, errcode, error)
        self.flows = flows
        self.session = secrets.token_urlsafe(16)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "flows": [{"stages": list(stages)} for stages in self.flows],
            "params": {},
            "session": self.session,
        }
        if self.errcode:
            body["errcode"] = self.errcode
            body["error"] = self.error
        return body


@contextmanager
def account_errors() -> Iterator[None]:
    """Answer a refused account command with its Matrix error."""
    try:
        yield
    except AccountError as e:
        raise MatrixError(e.status, e.errcode, e.error) from None


async def settle(services: Services, positions: Sequence[int]) -> None:
    """Wait until the projections applied a write (invariant 3) and this
    process's token map reflects it."""
    if positions:
        await services.applied.wait_for(max(positions))
        await services.tokens.refresh()


def auth_dict(body: dict[str, Any]) -> dict[str, Any] | None:
    auth = body.get("auth")
    if auth is None:
        return None
    if not isinstance(auth, dict):
        raise MatrixError(400, "M_BAD_JSON", "auth must be an object")
    return auth


async def require_password_uia(services: Services, body: dict[str, Any], user_id: str) -> None:
    """The ``m.login.password`` stage for ``user_id``, or 401 with the flows."""
    flows = [[PASSWORD]]
    auth = auth_dict(body)
    if auth is None or auth.get("type") != PASSWORD:
        raise AuthRequired(flows)
    claimed = identifier_user(auth, services.server_name)
    password = auth.get("password")
    if claimed != user_id or not isinstance(password, str):
        raise AuthRequired(flows, "M_FORBIDDEN", "Invalid username or password")
    try:
        await verify_password(services.accounts, services.passwords, user_id, password)
    except AccountError:
        raise AuthRequired(flows, "M_FORBIDDEN", "Invalid username or password") from None


def identifier_user(body: dict[str, Any], server_name: str) -> str | None:
    """The local user a login or UIA body names: ``identifier`` of type ``m.id.user``
    or the deprecated top-level ``user``. None when it names none of ours."""
    identifier = body.get("identifier")
    if isinstance(identifier, dict):
        if identifier.get("type") != "m.id.user":
            raise MatrixError(400, "M_UNKNOWN", "Only m.id.user identifiers are supported")
        name = identifier.get("user")
    else:
        name = body.get("user")
    if not isinstance(name, str):
        raise MatrixError(400, "M_MISSING_PARAM", "A user identifier is required")
    return login_user_id(name, server_name)


def session_body(session: Session) -> dict[str, Any]:
    body: dict[str, Any] = {
        "user_id": session.user_id,
        "access_token": session.access_token,
        "device_id": session.device_id,
    }
    if session.refresh_token is not None:
        body["refresh_token"] = session.refresh_token
    if session.expires_in_ms is not None:
        body["expires_in_ms"] = session.expires_in_ms
    return body


def optional_string(body: dict[str, Any], key: str, max_len: int = 512) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MatrixError(400, "M_INVALID_PARAM", f"{key} must be a string")
    if len(value) > max_len:
        raise MatrixError(400, "M_INVALID_PARAM", f"{key} is too long")
    return value


def optional_bool(body: dict[str, Any], key: str, default: bool) -> bool:
    value = body.get(key, default)
    if not isinstance(value, bool):
        raise MatrixError(400, "M_INVALID_PARAM", f"{key} must be true or false")
    return value
