"""Threads of a room (``tessera.query.threads``) and jumping to a date
(``tessera.query.timestamp``)."""

from __future__ import annotations

from aiohttp import web

from tessera.app.http.context import services
from tessera.app.http.errors import missing_param
from tessera.app.http.json import json_response
from tessera.query.threads import thread_roots
from tessera.query.timestamp import event_at

from .rooms_params import V1, choice, integer, limit, run_query, token, viewer

routes = web.RouteTableDef()

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


@routes.get(V1 + "/rooms/{room_id}/threads")
async def get_threads(request: web.Request) -> web.Response:
    """GET /_matrix/client/v1/rooms/{roomId}/threads"""
    reader, svc = viewer(request), services(request)
    room_id = request.match_info["room_id"]
    include = choice(request, "include", ("all", "participated"), "all")
    from_token = token(request, "from")
    size = limit(request, default=DEFAULT_LIMIT, maximum=MAX_LIMIT)
    body = await run_query(
        lambda: thread_roots(
            svc.readdb,
            room_id,
            reader,
            participated=include == "participated",
            from_token=from_token,
            limit=size,
            now_ms=svc.clock(),
        )
    )
    return json_response(body)


@routes.get(V1 + "/rooms/{room_id}/timestamp_to_event")
async def get_timestamp_to_event(request: web.Request) -> web.Response:
    """GET /_matrix/client/v1/rooms/{roomId}/timestamp_to_event"""
    reader, svc = viewer(request), services(request)
    room_id = request.match_info["room_id"]
    ts = integer(request, "ts")
    if ts is None:
        raise missing_param("'ts' is required")
    forwards = choice(request, "dir", ("f", "b"), None) == "f"
    body = await run_query(
        lambda: event_at(svc.readdb, room_id, reader.user_id, ts, forwards=forwards)
    )
    return json_response(body)
