"""Query parameters of the ``/_matrix/client/v1/rooms/…`` read endpoints
(relations, threads, hierarchy, timestamp lookup), and running their blocking
queries in a worker thread with the read side's refusals as Matrix errors."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from aiohttp import web

from tessera.app.http.context import require_auth
from tessera.app.http.errors import forbidden, invalid_param, missing_param, not_found
from tessera.query.errors import Forbidden, NotFound
from tessera.query.events import Viewer
from tessera.query.tokens import BadToken, StreamToken

V1 = "/_matrix/client/v1"

T = TypeVar("T")


async def run_query(call: Callable[[], T]) -> T:
    try:
        return await asyncio.to_thread(call)
    except Forbidden as e:
        raise forbidden(str(e)) from None
    except NotFound as e:
        raise not_found(str(e)) from None


def viewer(request: web.Request) -> Viewer:
    requester = require_auth(request)
    return Viewer(requester.user_id, requester.device_id)


def token(request: web.Request, name: str) -> StreamToken | None:
    text = request.query.get(name)
    if text is None or text == "":
        return None
    try:
        return StreamToken.parse(text)
    except BadToken:
        raise invalid_param(f"'{name}' is not a valid token") from None


def integer(request: web.Request, name: str, *, default: int | None = None) -> int | None:
    text = request.query.get(name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise invalid_param(f"'{name}' must be an integer") from None


def limit(request: web.Request, *, default: int, maximum: int) -> int:
    """``limit``: at least 1 (the spec: "greater than zero"), capped at ``maximum``."""
    value = integer(request, "limit", default=default)
    assert value is not None
    if value < 1:
        raise invalid_param("'limit' must be greater than zero")
    return min(value, maximum)


def boolean(request: web.Request, name: str) -> bool | None:
    text = request.query.get(name)
    if text is None or text == "":
        return None
    if text not in ("true", "false"):
        raise invalid_param(f"'{name}' must be 'true' or 'false'")
    return text == "true"


def choice(request: web.Request, name: str, values: tuple[str, ...], default: str | None) -> str:
    text = request.query.get(name) or default
    if text is None:
        raise missing_param(f"'{name}' is required")
    if text not in values:
        raise invalid_param(f"'{name}' must be one of {', '.join(values)}")
    return text
