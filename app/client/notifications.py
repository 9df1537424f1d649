"""``GET /notifications``: the events the user was notified about (push module)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from tessera.app.http.context import require_auth, services
from tessera.app.http.errors import invalid_param
from tessera.app.http.json import json_response
from tessera.query.notifications import DEFAULT_LIMIT, list_notifications

routes = web.RouteTableDef()


def _int(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise invalid_param(f"'{name}' must be an integer") from None
    if number < 0:
        raise invalid_param(f"'{name}' must not be negative")
    return number


@routes.get("/_matrix/client/v3/notifications")
async def get_notifications(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/notifications"""
    requester = require_auth(request)
    svc = services(request)
    before = _int(request.query.get("from"), "from")
    limit = _int(request.query.get("limit"), "limit")
    only = request.query.get("only")
    body = await asyncio.to_thread(
        list_notifications,
        svc.readdb,
        requester.user_id,
        before=before,
        limit=DEFAULT_LIMIT if limit is None else limit,
        only_highlight=only == "highlight",
        now_ms=svc.clock(),
    )
    return json_response(body)
