"""Room aliases and the published room directory (``tessera.command.aliases``,
``tessera.command.directory``; reads from ``tessera.query.directory``)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from tessera.app.http.context import require_auth, services
from tessera.app.http.errors import MatrixError, bad_json, forbidden, invalid_param, not_found
from tessera.app.http.json import json_body, json_response
from tessera.command.aliases import alias_server, create_alias, delete_alias
from tessera.command.directory import set_visibility
from tessera.query import directory

from .rooms_write_common import PREFIX, optional_str, required_str, room_deps, room_errors, settle

routes = web.RouteTableDef()


@routes.put(PREFIX + "/directory/room/{roomAlias}")
async def put_alias(request: web.Request) -> web.Response:
    """PUT /_matrix/client/v3/directory/room/{roomAlias}"""
    requester = require_auth(request)
    body = await json_body(request)
    room_id = required_str(body, "room_id")
    with room_errors():
        positions = await create_alias(
            room_deps(request), request.match_info["roomAlias"], room_id, requester.user_id
        )
    await settle(services(request), positions)
    return json_response({})


@routes.get(PREFIX + "/directory/room/{roomAlias}")
async def get_alias(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/directory/room/{roomAlias}"""
    alias = request.match_info["roomAlias"]
    svc = services(request)
    with room_errors():
        alias_server(alias)
    room_id = await asyncio.to_thread(directory.room_for_alias, svc.readdb, alias)
    if room_id is None:
        raise not_found(f"Room alias {alias} not found")
    return json_response({"room_id": room_id, "servers": [svc.server_name]})


@routes.delete(PREFIX + "/directory/room/{roomAlias}")
async def delete_alias_route(request: web.Request) -> web.Response:
    """DELETE /_matrix/client/v3/directory/room/{roomAlias}"""
    requester = require_auth(request)
    with room_errors():
        positions = await delete_alias(
            room_deps(request),
            request.match_info["roomAlias"],
            requester.user_id,
            is_admin=requester.is_admin,
        )
    await settle(services(request), positions)
    return json_response({})


@routes.get(PREFIX + "/rooms/{roomId}/aliases")
async def get_room_aliases(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/rooms/{roomId}/aliases"""
    requester = require_auth(request)
    room_id = request.match_info["roomId"]
    db = services(request).readdb

    def read() -> list[str] | None:
        if not directory.may_read_aliases(db, room_id, requester.user_id):
            return None
        return directory.aliases_of_room(db, room_id)

    aliases = await asyncio.to_thread(read)
    if aliases is None:
        raise forbidden("You are not in this room")
    return json_response({"aliases": aliases})


@routes.get(PREFIX + "/directory/list/room/{roomId}")
async def get_visibility(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/directory/list/room/{roomId}"""
    room_id = request.match_info["roomId"]
    found = await asyncio.to_thread(directory.visibility, services(request).readdb, room_id)
    if found is None:
        raise not_found("Room not found")
    return json_response({"visibility": found})


@routes.put(PREFIX + "/directory/list/room/{roomId}")
async def put_visibility(request: web.Request) -> web.Response:
    """PUT /_matrix/client/v3/directory/list/room/{roomId}"""
    requester = require_auth(request)
    body = await json_body(request, allow_empty=True)
    visibility = optional_str(body, "visibility") or "public"
    with room_errors():
        positions = await set_visibility(
            room_deps(request),
            requester.user_id,
            request.match_info["roomId"],
            visibility,
            is_admin=requester.is_admin,
        )
    await settle(services(request), positions)
    return json_response({})


def _check_server(request: web.Request) -> None:
    server = request.query.get("server")
    if server and server != services(request).server_name:
        raise not_found(f"The directory of {server} is not reachable (no federation yet)")


async def _public_rooms(request: web.Request, **query: Any) -> web.Response:
    try:
        body = await directory.apublic_rooms(services(request).readdb, **query)
    except directory.BadToken:
        raise invalid_param("'since' is not a valid token") from None
    return json_response(body)


def _limit(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            raise invalid_param("'limit' must be an integer") from None
    if not isinstance(value, int) or isinstance(value, bool):
        raise bad_json("'limit' must be an integer")
    return value


@routes.get(PREFIX + "/publicRooms")
async def get_public_rooms(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/publicRooms"""
    _check_server(request)
    return await _public_rooms(
        request, limit=_limit(request.query.get("limit")), since=request.query.get("since")
    )


@routes.post(PREFIX + "/publicRooms")
async def post_public_rooms(request: web.Request) -> web.Response:
    """POST /_matrix/client/v3/publicRooms"""
    require_auth(request)
    _check_server(request)
    body = await json_body(request, allow_empty=True)
    search_filter = body.get("filter") or {}
    if not isinstance(search_filter, dict):
        raise bad_json("'filter' must be an object")
    room_types = search_filter.get("room_types")
    if room_types is not None and (
        not isinstance(room_types, list)
        or not all(t is None or isinstance(t, str) for t in room_types)
    ):
        raise bad_json("'room_types' must be a list of strings and nulls")
    term = optional_str(search_filter, "generic_search_term")
    if body.get("since") is not None and not isinstance(body["since"], str):
        raise MatrixError(400, "M_BAD_JSON", "'since' must be a string")
    return await _public_rooms(
        request,
        limit=_limit(body.get("limit")),
        since=body.get("since"),
        search=term,
        room_types=room_types,
    )
