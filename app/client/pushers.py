"""Pushers: ``GET /pushers`` and ``POST /pushers/set`` (push module).

Writes go through ``tessera.command.pushers``; delivery to the gateways is
``tessera.app.push``.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from tessera.app.http.context import require_auth, services
from tessera.app.http.errors import MatrixError
from tessera.app.http.json import json_body, json_response
from tessera.command.pushers import PusherError, parse_pusher_request
from tessera.query.pushers import pushers_with_key, user_pushers
from tessera.schema.pushers import PusherSet

routes = web.RouteTableDef()


@routes.get("/_matrix/client/v3/pushers")
async def get_pushers(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/pushers"""
    requester = require_auth(request)
    rows = await asyncio.to_thread(user_pushers, services(request).readdb, requester.user_id)
    return json_response({"pushers": [row.pusher.client_format() for row in rows]})


@routes.post("/_matrix/client/v3/pushers/set")
async def set_pusher(request: web.Request) -> web.Response:
    """POST /_matrix/client/v3/pushers/set"""
    requester = require_auth(request)
    svc = services(request)
    body = await json_body(request)
    try:
        record, append = parse_pusher_request(body, svc.clock(), svc.config.ip_range_whitelist)
    except PusherError as e:
        raise MatrixError(400, e.errcode, e.error) from None
    user_id = requester.user_id
    if not isinstance(record, PusherSet):
        positions = await svc.pushers.remove(user_id, record.app_id, record.pushkey, "deleted")
    else:
        positions = await svc.pushers.set(user_id, record)
        if not append:
            others = await asyncio.to_thread(
                pushers_with_key, svc.readdb, record.app_id, record.pushkey
            )
            for other in others:
                if other.user_id != user_id:
                    positions += await svc.pushers.remove(
                        other.user_id, record.app_id, record.pushkey, "replaced"
                    )
    if positions:
        await svc.applied.wait_for(max(positions))
    return json_response({})
