"""Reading rooms: events, state, members, history (``tessera.query.rooms``,
``tessera.query.messages``). Queries block, so each request runs its whole
query in one worker thread."""

from __future__ import annotations

from typing import TypeVar

from aiohttp import web

from tessera.app.http.context import services
from tessera.app.http.errors import MatrixError, invalid_param
from tessera.app.http.json import json_response
from tessera.query import messages, rooms
from tessera.query.events import client_event
from tessera.query.filters import FilterError, RoomEventFilter

from .rooms_params import run_query as _run
from .rooms_params import token as _token
from .rooms_params import viewer as _viewer

routes = web.RouteTableDef()

PREFIX = "/_matrix/client/v3"
DEFAULT_LIMIT = 10
#: The most events one page of ``/messages`` or ``/context`` returns.
MAX_LIMIT = 1000

T = TypeVar("T")


def _limit(request: web.Request) -> int:
    text = request.query.get("limit")
    if text is None or text == "":
        return DEFAULT_LIMIT
    try:
        limit = int(text)
    except ValueError:
        raise invalid_param("'limit' must be an integer") from None
    if limit < 0:
        raise invalid_param("'limit' must not be negative")
    return min(limit, MAX_LIMIT)


def _filter(request: web.Request) -> RoomEventFilter:
    try:
        return RoomEventFilter.from_json(request.query.get("filter"))
    except FilterError as e:
        raise MatrixError(400, "M_NOT_JSON" if e.not_json else "M_BAD_JSON", str(e)) from None


def _membership(request: web.Request, name: str) -> str | None:
    value = request.query.get(name)
    if value is None or value == "":
        return None
    if value not in rooms.MEMBERSHIPS:
        raise invalid_param(f"'{name}' must be one of {', '.join(sorted(rooms.MEMBERSHIPS))}")
    return value


@routes.get(PREFIX + "/rooms/{room_id}/event/{event_id}")
async def get_event(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/rooms/{roomId}/event/{eventId}"""
    viewer, svc = _viewer(request), services(request)
    room_id, event_id = request.match_info["room_id"], request.match_info["event_id"]
    body = await _run(lambda: rooms.get_event(svc.readdb, room_id, event_id, viewer, svc.clock()))
    return json_response(body)


@routes.get(PREFIX + "/rooms/{room_id}/state")
async def get_state(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/rooms/{roomId}/state"""
    viewer, svc = _viewer(request), services(request)
    room_id = request.match_info["room_id"]
    body = await _run(lambda: rooms.get_state(svc.readdb, room_id, viewer, svc.clock()))
    return json_response(body)


async def _state_event(request: web.Request, state_key: str) -> web.Response:
    viewer, svc = _viewer(request), services(request)
    room_id, event_type = request.match_info["room_id"], request.match_info["event_type"]
    fmt = request.query.get("format", "content")
    if fmt not in ("content", "event"):
        raise invalid_param("'format' must be 'content' or 'event'")
    row = await _run(
        lambda: rooms.get_state_event(svc.readdb, room_id, event_type, state_key, viewer)
    )
    if fmt == "event":
        return json_response(client_event(row, now_ms=svc.clock(), viewer=viewer))
    return json_response(row.content())


@routes.get(PREFIX + "/rooms/{room_id}/state/{event_type}")
async def get_state_event_empty_key(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/rooms/{roomId}/state/{eventType} (empty state key)"""
    return await _state_event(request, "")


@routes.get(PREFIX + "/rooms/{room_id}/state/{event_type}/{state_key:.*}")
async def get_state_event(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}"""
    return await _state_event(request, request.match_info["state_key"])


@routes.get(PREFIX + "/rooms/{room_id}/members")
async def get_members(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/rooms/{roomId}/members"""
    viewer, svc = _viewer(request), services(request)
    room_id = request.match_info["room_id"]
    at = _token(request, "at")
    membership = _membership(request, "membership")
    not_membership = _membership(request, "not_membership")
    chunk = await _run(
        lambda: rooms.get_members(
            svc.readdb,
            room_id,
            viewer,
            at=at.position if at is not None else None,
            membership=membership,
            not_membership=not_membership,
            now_ms=svc.clock(),
        )
    )
    return json_response({"chunk": chunk})


@routes.get(PREFIX + "/rooms/{room_id}/joined_members")
async def get_joined_members(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/rooms/{roomId}/joined_members"""
    viewer, svc = _viewer(request), services(request)
    room_id = request.match_info["room_id"]
    joined = await _run(lambda: rooms.get_joined_members(svc.readdb, room_id, viewer))
    return json_response({"joined": joined})


@routes.get(PREFIX + "/joined_rooms")
async def get_joined_rooms(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/joined_rooms"""
    viewer, svc = _viewer(request), services(request)
    joined = await _run(lambda: rooms.get_joined_rooms(svc.readdb, viewer.user_id))
    return json_response({"joined_rooms": joined})


@routes.get(PREFIX + "/rooms/{room_id}/messages")
async def get_messages(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/rooms/{roomId}/messages"""
    viewer, svc = _viewer(request), services(request)
    room_id = request.match_info["room_id"]
    direction = request.query.get("dir", "f")  # required by the spec; Synapse defaults to f
    if direction not in ("b", "f"):
        raise invalid_param("'dir' must be 'b' or 'f'")
    from_token, to_token = _token(request, "from"), _token(request, "to")
    limit, event_filter = _limit(request), _filter(request)
    if event_filter.limit is not None:
        limit = min(limit, event_filter.limit)
    body = await _run(
        lambda: messages.room_messages(
            svc.readdb,
            room_id,
            viewer,
            backwards=direction == "b",
            from_token=from_token,
            to_token=to_token,
            limit=limit,
            event_filter=event_filter,
            now_ms=svc.clock(),
        )
    )
    return json_response(body)


@routes.get(PREFIX + "/rooms/{room_id}/context/{event_id}")
async def get_context(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/rooms/{roomId}/context/{eventId}"""
    viewer, svc = _viewer(request), services(request)
    room_id, event_id = request.match_info["room_id"], request.match_info["event_id"]
    limit, event_filter = _limit(request), _filter(request)
    body = await _run(
        lambda: messages.event_context(
            svc.readdb,
            room_id,
            event_id,
            viewer,
            limit=limit,
            event_filter=event_filter,
            now_ms=svc.clock(),
        )
    )
    return json_response(body)
