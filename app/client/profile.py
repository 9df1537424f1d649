"""Profiles: a user's display name and avatar, global and in their rooms.

A change is recorded on the user's account stream; then ``on_profile_changed``
(wired by the room commands) re-sends the user's member event in each joined
room, so room members see it too.
"""

from __future__ import annotations

import logging

from aiohttp import web

from tessera.app.http.context import require_auth, services
from tessera.app.http.errors import MatrixError, forbidden, not_found
from tessera.app.http.json import json_body, json_response
from tessera.app.services import Services
from tessera.query.accounts import aget_profile

from .account_common import account_errors, settle

_log = logging.getLogger(__name__)

routes = web.RouteTableDef()

FIELDS = ("displayname", "avatar_url")
#: Display names are shown everywhere; other homeservers cap them at this length too.
MAX_DISPLAYNAME = 256
MAX_AVATAR_URL = 1000


@routes.get("/_matrix/client/v3/profile/{userId}")
async def get_profile(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/profile/{userId}"""
    profile = await aget_profile(services(request).readdb, request.match_info["userId"])
    if profile is None:
        raise not_found("Profile not found")
    return json_response(profile)


def _field(request: web.Request) -> str:
    field = request.match_info["keyName"]
    if field not in FIELDS:
        raise MatrixError(400, "M_INVALID_PARAM", f"Unsupported profile field {field}")
    return field


@routes.get("/_matrix/client/v3/profile/{userId}/{keyName}")
async def get_profile_field(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/profile/{userId}/{keyName}"""
    field = _field(request)
    profile = await aget_profile(services(request).readdb, request.match_info["userId"])
    if profile is None or field not in profile:
        raise not_found("Profile field not found")
    return json_response({field: profile[field]})


def _value(field: str, value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MatrixError(400, "M_INVALID_PARAM", f"{field} must be a string")
    if field == "displayname" and len(value) > MAX_DISPLAYNAME:
        raise MatrixError(400, "M_INVALID_PARAM", "displayname is too long")
    if field == "avatar_url":
        if len(value) > MAX_AVATAR_URL:
            raise MatrixError(400, "M_INVALID_PARAM", "avatar_url is too long")
        if not value.startswith("mxc://"):
            raise MatrixError(400, "M_INVALID_PARAM", "avatar_url must be an mxc:// URI")
    return value


async def _set(request: web.Request, field: str, value: str | None) -> web.Response:
    svc = services(request)
    requester = require_auth(request)
    if request.match_info["userId"] != requester.user_id:
        raise forbidden("You cannot change another user's profile")
    with account_errors():
        positions = await svc.accounts.change(
            requester.user_id, lambda a: a.decide_profile(field, value)
        )
    await settle(svc, positions)
    if positions:
        await _propagate(svc, requester.user_id)
    return json_response({})


async def _propagate(svc: Services, user_id: str) -> None:
    hook = svc.on_profile_changed
    if hook is None:
        return
    try:
        await hook(svc, user_id)
    except Exception:  # the profile itself changed; a room that refused is logged
        _log.exception("updating %s's member events failed", user_id)


@routes.put("/_matrix/client/v3/profile/{userId}/{keyName}")
async def put_profile_field(request: web.Request) -> web.Response:
    """PUT /_matrix/client/v3/profile/{userId}/{keyName}"""
    field = _field(request)
    body = await json_body(request)
    if field not in body:
        raise MatrixError(400, "M_MISSING_PARAM", f"{field} is required")
    return await _set(request, field, _value(field, body[field]))


@routes.delete("/_matrix/client/v3/profile/{userId}/{keyName}")
async def delete_profile_field(request: web.Request) -> web.Response:
    """DELETE /_matrix/client/v3/profile/{userId}/{keyName}"""
    return await _set(request, _field(request), None)
