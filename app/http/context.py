"""What a handler knows of its request: the server's services and who is asking."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Protocol

from aiohttp import web

from .errors import MatrixError

if TYPE_CHECKING:
    from tessera.app.services import Services


@dataclasses.dataclass(frozen=True, slots=True)
class Requester:
    """The authenticated user and device behind a request."""

    user_id: str
    device_id: str
    is_admin: bool = False


class Authenticator(Protocol):
    def authenticate(self, token: str) -> Requester | None:
        """The requester an access token belongs to, or None; no I/O (an in-memory
        map kept current from the log, DESIGN "token auth without a round trip")."""
        ...

    def is_expired(self, token: str) -> bool:
        """Was ``token`` valid once and has expired (refresh tokens: soft logout)?"""
        ...


SERVICES: web.AppKey[Services] = web.AppKey("services")


def services(request: web.Request) -> Services:
    return request.app[SERVICES]


def access_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        return None
    return request.query.get("access_token")


def require_auth(request: web.Request) -> Requester:
    """The requester, or 401 M_MISSING_TOKEN / M_UNKNOWN_TOKEN (``soft_logout`` when expired)."""
    token = access_token(request)
    if token is None:
        raise MatrixError(401, "M_MISSING_TOKEN", "Missing access token")
    svc = services(request)
    auth = svc.authenticator
    requester = auth.authenticate(token)
    if requester is None:
        if auth.is_expired(token):
            raise MatrixError(401, "M_UNKNOWN_TOKEN", "Access token has expired", soft_logout=True)
        raise MatrixError(401, "M_UNKNOWN_TOKEN", "Unknown access token", soft_logout=False)
    # Last seen, for /devices: one dict assignment, written to the log in batches.
    # (The peer's address, as ratelimit.client_ip takes it.)
    svc.seen.pending[requester.user_id, requester.device_id] = (
        svc.clock(),
        request.remote or "unknown",
    )
    return requester
