"""Creating rooms and changing membership (``tessera.command.create_room``,
``tessera.command.membership``)."""

from __future__ import annotations

from aiohttp import web

from tessera.app.http.context import require_auth, services
from tessera.app.http.json import json_body, json_response
from tessera.command import membership
from tessera.command.create_room import CreateRoom, create_room

from .rooms_write_common import (
    PREFIX,
    optional_str,
    required_str,
    room_deps,
    room_errors,
    settle,
)

routes = web.RouteTableDef()


@routes.post(PREFIX + "/createRoom")
async def post_create_room(request: web.Request) -> web.Response:
    """POST /_matrix/client/v3/createRoom"""
    requester = require_auth(request)
    body = await json_body(request)
    with room_errors():
        cmd = CreateRoom.from_body(requester.user_id, body)
        room_id, positions = await create_room(room_deps(request), cmd)
    await settle(services(request), positions)
    return json_response({"room_id": room_id})


async def _join(request: web.Request, room_id_or_alias: str) -> web.Response:
    requester = require_auth(request)
    body = await json_body(request, allow_empty=True)
    reason = optional_str(body, "reason")
    with room_errors():
        room_id, positions = await membership.join(
            room_deps(request), requester.user_id, room_id_or_alias, reason=reason
        )
    await settle(services(request), positions)
    return json_response({"room_id": room_id})


@routes.post(PREFIX + "/join/{roomIdOrAlias}")
async def post_join(request: web.Request) -> web.Response:
    """POST /_matrix/client/v3/join/{roomIdOrAlias}"""
    return await _join(request, request.match_info["roomIdOrAlias"])


@routes.post(PREFIX + "/rooms/{roomId}/join")
async def post_room_join(request: web.Request) -> web.Response:
    """POST /_matrix/client/v3/rooms/{roomId}/join"""
    return await _join(request, request.match_info["roomId"])


@routes.post(PREFIX + "/knock/{roomIdOrAlias}")
async def post_knock(request: web.Request) -> web.Response:
    """POST /_matrix/client/v3/knock/{roomIdOrAlias}"""
    requester = require_auth(request)
    body = await json_body(request, allow_empty=True)
    reason = optional_str(body, "reason")
    with room_errors():
        room_id, positions = await membership.knock(
            room_deps(request),
            requester.user_id,
            request.match_info["roomIdOrAlias"],
            reason=reason,
        )
    await settle(services(request), positions)
    return json_response({"room_id": room_id})


@routes.post(PREFIX + "/rooms/{roomId}/invite")
async def post_invite(request: web.Request) -> web.Response:
    """POST /_matrix/client/v3/rooms/{roomId}/invite"""
    requester = require_auth(request)
    body = await json_body(request)
    target = required_str(body, "user_id")
    with room_errors():
        positions = await membership.invite(
            room_deps(request),
            requester.user_id,
            request.match_info["roomId"],
            target,
            reason=optional_str(body, "reason"),
        )
    await settle(services(request), positions)
    return json_response({})


@routes.post(PREFIX + "/rooms/{roomId}/leave")
async def post_leave(request: web.Request) -> web.Response:
    """POST /_matrix/client/v3/rooms/{roomId}/leave"""
    requester = require_auth(request)
    body = await json_body(request, allow_empty=True)
    with room_errors():
        positions = await membership.leave(
            room_deps(request),
            requester.user_id,
            request.match_info["roomId"],
            reason=optional_str(body, "reason"),
        )
    await settle(services(request), positions)
    return json_response({})


@routes.post(PREFIX + "/rooms/{roomId}/forget")
async def post_forget(request: web.Request) -> web.Response:
    """POST /_matrix/client/v3/rooms/{roomId}/forget"""
    requester = require_auth(request)
    with room_errors():
        positions = await membership.forget(
            room_deps(request), requester.user_id, request.match_info["roomId"]
        )
    await settle(services(request), positions)
    return json_response({})


async def _moderate(request: web.Request, action: membership.Moderation) -> web.Response:
    requester = require_auth(request)
    body = await json_body(request)
    target = required_str(body, "user_id")
    with room_errors():
        positions = await action(
            room_deps(request),
            requester.user_id,
            request.match_info["roomId"],
            target,
            reason=optional_str(body, "reason"),
        )
    await settle(services(request), positions)
    return json_response({})


@routes.post(PREFIX + "/rooms/{roomId}/kick")
async def post_kick(request: web.Request) -> web.Response:
    """POST /_matrix/client/v3/rooms/{roomId}/kick"""
    return await _moderate(request, membership.kick)


@routes.post(PREFIX + "/rooms/{roomId}/ban")
async def post_ban(request: web.Request) -> web.Response:
    """POST /_matrix/client/v3/rooms/{roomId}/ban"""
    return await _moderate(request, membership.ban)


@routes.post(PREFIX + "/rooms/{roomId}/unban")
async def post_unban(request: web.Request) -> web.Response:
    """POST /_matrix/client/v3/rooms/{roomId}/unban"""
    return await _moderate(request, membership.unban)
