"""The account itself: who am I, password, deactivation, third-party IDs."""

from __future__ import annotations

import logging

from aiohttp import web

from tessera.app.http.context import require_auth, services
from tessera.app.http.errors import MatrixError
from tessera.app.http.json import json_body, json_response
from tessera.app.services import Services
from tessera.command.membership import leave

from .account_common import (
    account_errors,
    optional_bool,
    require_password_uia,
    settle,
)
from .register import MAX_PASSWORD

_log = logging.getLogger(__name__)

routes = web.RouteTableDef()


@routes.get("/_matrix/client/v3/account/whoami")
async def whoami(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/account/whoami"""
    requester = require_auth(request)
    return json_response(
        {"user_id": requester.user_id, "device_id": requester.device_id, "is_guest": False}
    )


@routes.post("/_matrix/client/v3/account/password")
async def change_password(request: web.Request) -> web.Response:
    """POST /_matrix/client/v3/account/password"""
    svc = services(request)
    requester = require_auth(request)
    body = await json_body(request)
    new_password = body.get("new_password")
    if not isinstance(new_password, str) or not new_password:
        raise MatrixError(400, "M_MISSING_PARAM", "new_password is required")
    if len(new_password) > MAX_PASSWORD:
        raise MatrixError(400, "M_INVALID_PARAM", "new_password is too long")
    logout_devices = optional_bool(body, "logout_devices", True)
    await require_password_uia(svc, body, requester.user_id)
    new_hash = await svc.passwords.hash(new_password)
    now = svc.clock()
    with account_errors():
        positions = await svc.accounts.change(
            requester.user_id,
            lambda a: a.decide_password(new_hash, requester.device_id, logout_devices, now),
        )
    await settle(svc, positions)
    return json_response({})


@routes.post("/_matrix/client/v3/account/deactivate")
async def deactivate(request: web.Request) -> web.Response:
    """POST /_matrix/client/v3/account/deactivate"""
    svc = services(request)
    requester = require_auth(request)
    body = await json_body(request, allow_empty=True)
    await require_password_uia(svc, body, requester.user_id)
    now = svc.clock()
    with account_errors():
        positions = await svc.accounts.change(requester.user_id, lambda a: a.decide_deactivate(now))
    await settle(svc, positions)
    await _leave_all_rooms(svc, requester.user_id)
    return json_response({"id_server_unbind_result": "no-support"})


async def _leave_all_rooms(svc: Services, user_id: str) -> None:
    """A deactivated user leaves every room they are in (the spec's SHOULD), so
    they stop counting as a member and stop receiving events."""
    deps = svc.room_deps
    if deps is None:
        return
    positions: list[int] = []
    for room_id in await deps.lookups.joined_rooms(user_id):
        try:
            positions += await leave(deps, user_id, room_id, reason="Account deactivated")
        except Exception:  # the account is deactivated regardless; a room that refused is logged
            _log.exception("%s could not leave %s on deactivation", user_id, room_id)
    if positions:
        await svc.applied.wait_for(max(positions))


@routes.get("/_matrix/client/v3/account/3pid")
async def threepids(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/account/3pid"""
    require_auth(request)
    return json_response({"threepids": []})
