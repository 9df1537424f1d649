"""Typing notifications: ``PUT /rooms/{roomId}/typing/{userId}`` (ephemeral: in
memory, sent to every process over the bus, never in the log)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from tessera.app.http.context import require_auth, services
from tessera.app.http.errors import bad_json, forbidden
from tessera.app.http.json import json_body, json_response
from tessera.query.state import membership_at
from tessera.query.typing import TypingUpdate

routes = web.RouteTableDef()

#: Used when a client starts typing without saying for how long.
DEFAULT_TIMEOUT_MS = 30_000


@routes.put("/_matrix/client/v3/rooms/{roomId}/typing/{userId}")
async def put_typing(request: web.Request) -> web.Response:
    """PUT /_matrix/client/v3/rooms/{roomId}/typing/{userId}"""
    requester = require_auth(request)
    room_id, user_id = request.match_info["roomId"], request.match_info["userId"]
    if user_id != requester.user_id:
        raise forbidden("Cannot set another user's typing state")
    body = await json_body(request)
    typing = body.get("typing")
    if not isinstance(typing, bool):
        raise bad_json("'typing' must be a boolean")
    timeout = body.get("timeout", DEFAULT_TIMEOUT_MS)
    if type(timeout) is not int or timeout < 0:
        raise bad_json("'timeout' must be a non-negative integer")
    svc = services(request)
    if await asyncio.to_thread(membership_at, svc.readdb, room_id, user_id) != "join":
        raise forbidden("You are not joined to this room")
    await svc.typing.publish(TypingUpdate(room_id, user_id, typing, timeout))
    return json_response({})
