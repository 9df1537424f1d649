"""Event relationships: the children of an event (``tessera.query.relations``)."""

from __future__ import annotations

from aiohttp import web

from tessera.app.http.context import services
from tessera.app.http.json import json_response
from tessera.query.relations import relations

from .rooms_params import V1, boolean, choice, limit, run_query, token, viewer

routes = web.RouteTableDef()

DEFAULT_LIMIT = 10
MAX_LIMIT = 100


async def _relations(
    request: web.Request, rel_type: str | None, event_type: str | None
) -> web.Response:
    reader, svc = viewer(request), services(request)
    room_id, event_id = request.match_info["room_id"], request.match_info["event_id"]
    from_token, to_token = token(request, "from"), token(request, "to")
    size = limit(request, default=DEFAULT_LIMIT, maximum=MAX_LIMIT)
    backwards = choice(request, "dir", ("b", "f"), "b") == "b"
    recurse = boolean(request, "recurse")
    body = await run_query(
        lambda: relations(
            svc.readdb,
            room_id,
            event_id,
            reader,
            rel_type=rel_type,
            event_type=event_type,
            from_token=from_token,
            to_token=to_token,
            limit=size,
            backwards=backwards,
            recurse=recurse,
            now_ms=svc.clock(),
        )
    )
    return json_response(body)


@routes.get(V1 + "/rooms/{room_id}/relations/{event_id}")
async def get_relations(request: web.Request) -> web.Response:
    """GET /_matrix/client/v1/rooms/{roomId}/relations/{eventId}"""
    return await _relations(request, None, None)


@routes.get(V1 + "/rooms/{room_id}/relations/{event_id}/{rel_type}")
async def get_relations_of_type(request: web.Request) -> web.Response:
    """GET /_matrix/client/v1/rooms/{roomId}/relations/{eventId}/{relType}"""
    return await _relations(request, request.match_info["rel_type"], None)


@routes.get(V1 + "/rooms/{room_id}/relations/{event_id}/{rel_type}/{event_type}")
async def get_relations_of_type_and_event_type(request: web.Request) -> web.Response:
    """GET /_matrix/client/v1/rooms/{roomId}/relations/{eventId}/{relType}/{eventType}"""
    rel_type, event_type = request.match_info["rel_type"], request.match_info["event_type"]
    return await _relations(request, rel_type, event_type)
