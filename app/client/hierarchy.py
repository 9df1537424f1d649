"""Spaces: the hierarchy of rooms under a space (``tessera.query.hierarchy``)."""

from __future__ import annotations

from aiohttp import web

from tessera.app.http.context import services
from tessera.app.http.errors import invalid_param
from tessera.app.http.json import json_response
from tessera.query.hierarchy import BadPageToken, Walk, hierarchy

from .rooms_params import V1, boolean, integer, limit, run_query, viewer

routes = web.RouteTableDef()

DEFAULT_LIMIT = 50
MAX_LIMIT = 100


@routes.get(V1 + "/rooms/{room_id}/hierarchy")
async def get_hierarchy(request: web.Request) -> web.Response:
    """GET /_matrix/client/v1/rooms/{roomId}/hierarchy"""
    reader, svc = viewer(request), services(request)
    room_id = request.match_info["room_id"]
    max_depth = integer(request, "max_depth")
    if max_depth is not None and max_depth < 0:
        raise invalid_param("'max_depth' must not be negative")
    walk = Walk(bool(boolean(request, "suggested_only")), max_depth)
    size = limit(request, default=DEFAULT_LIMIT, maximum=MAX_LIMIT)
    from_token = request.query.get("from")

    def query() -> dict[str, object]:
        try:
            return hierarchy(svc.readdb, room_id, reader.user_id, walk=walk,
                             from_token=from_token, limit=size)  # fmt: skip
        except BadPageToken as e:
            raise invalid_param(str(e)) from None

    return json_response(await run_query(query))
