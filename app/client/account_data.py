"""Account data (global and per room) and room tags.

Tags are the room's ``m.tag`` account data (``{"tags": {tag: {"order"?}}}``);
``m.fully_read`` and ``m.push_rules`` are managed by the server and refused
here with 405, as the spec says.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from tessera.app.http.context import require_auth, services
from tessera.app.http.errors import MatrixError, bad_json, forbidden, invalid_param, not_found
from tessera.app.http.json import json_body, json_response
from tessera.command.userdata import SERVER_MANAGED_TYPES, TAG

routes = web.RouteTableDef()

PREFIX = "/_matrix/client/v3/user/{userId}"


def _own(request: web.Request) -> str:
    requester = require_auth(request)
    user_id = request.match_info["userId"]
    if user_id != requester.user_id:
        raise forbidden("Cannot access another user's account data")
    return user_id


def _room(request: web.Request) -> str:
    room_id = request.match_info["roomId"]
    if not room_id.startswith("!") or (":" not in room_id and len(room_id) < 2):
        raise invalid_param(f"{room_id!r} is not a room ID")
    return room_id


async def _get(request: web.Request, room_id: str | None) -> web.Response:
    user_id = _own(request)
    store = services(request).sync.store
    content = await asyncio.to_thread(
        store.account_data_item, user_id, room_id, request.match_info["type"]
    )
    if content is None:
        raise not_found("Account data not found")
    return json_response(content)


async def _put(request: web.Request, room_id: str | None) -> web.Response:
    user_id = _own(request)
    data_type = request.match_info["type"]
    if data_type in SERVER_MANAGED_TYPES:
        raise MatrixError(405, "M_BAD_JSON", f"Cannot set {data_type} through this API.")
    content = await json_body(request)
    svc = services(request)
    if data_type == TAG and room_id is not None:
        tags = content.get("tags", {})
        if not isinstance(tags, dict):
            raise bad_json("'tags' must be an object")
    positions = await svc.userdata.set_account_data(user_id, room_id, data_type, content)
    await svc.applied.wait_for(max(positions))
    return json_response({})


@routes.get(PREFIX + "/account_data/{type}")
async def get_global(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/user/{userId}/account_data/{type}"""
    return await _get(request, None)


@routes.put(PREFIX + "/account_data/{type}")
async def put_global(request: web.Request) -> web.Response:
    """PUT /_matrix/client/v3/user/{userId}/account_data/{type}"""
    return await _put(request, None)


@routes.get(PREFIX + "/rooms/{roomId}/account_data/{type}")
async def get_room(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/user/{userId}/rooms/{roomId}/account_data/{type}"""
    return await _get(request, _room(request))


@routes.put(PREFIX + "/rooms/{roomId}/account_data/{type}")
async def put_room(request: web.Request) -> web.Response:
    """PUT /_matrix/client/v3/user/{userId}/rooms/{roomId}/account_data/{type}"""
    return await _put(request, _room(request))


@routes.get(PREFIX + "/rooms/{roomId}/tags")
async def get_tags(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags"""
    user_id = _own(request)
    store = services(request).sync.store
    content = await asyncio.to_thread(store.account_data_item, user_id, _room(request), TAG)
    tags = content.get("tags") if isinstance(content, dict) else None
    return json_response({"tags": tags if isinstance(tags, dict) else {}})


@routes.put(PREFIX + "/rooms/{roomId}/tags/{tag}")
async def put_tag(request: web.Request) -> web.Response:
    """PUT /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags/{tag}"""
    user_id = _own(request)
    body = await json_body(request)
    order = body.get("order")
    if order is not None and (isinstance(order, bool) or not isinstance(order, int | float)):
        raise bad_json("'order' must be a number")
    value: dict[str, Any] = dict(body)
    svc = services(request)
    tag = request.match_info["tag"]
    if len(tag) > 255:
        raise invalid_param("tag is too long")
    positions = await svc.userdata.change_tag(user_id, _room(request), tag, value)
    if positions:
        await svc.applied.wait_for(max(positions))
    return json_response({})


@routes.delete(PREFIX + "/rooms/{roomId}/tags/{tag}")
async def delete_tag(request: web.Request) -> web.Response:
    """DELETE /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags/{tag}"""
    user_id = _own(request)
    svc = services(request)
    positions = await svc.userdata.change_tag(
        user_id, _room(request), request.match_info["tag"], None
    )
    if positions:
        await svc.applied.wait_for(max(positions))
    return json_response({})
