"""JSON in and out of handlers: orjson, with the Matrix checks on request bodies."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from .errors import MatrixError, bad_json, too_large

#: Default cap on a request body; the config can lower or raise it per server.
DEFAULT_MAX_BODY = 1 << 20
#: Request bodies nested deeper than this are refused before anything reads them.
MAX_JSON_DEPTH = 64


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def _depth_ok(value: Any, depth: int) -> bool:
    if depth > MAX_JSON_DEPTH:
        return False
    if isinstance(value, dict):
        return all(_depth_ok(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return all(_depth_ok(v, depth + 1) for v in value)
    return True


async def read_body(request: web.Request, max_bytes: int | None = None) -> bytes:
    """The raw body, refusing more than ``max_bytes`` with M_TOO_LARGE (413)."""
    limit = max_bytes if max_bytes is not None else request.app.get(MAX_BODY, DEFAULT_MAX_BODY)
    if request.content_length is not None and request.content_length > limit:
        raise too_large(f"Request body is over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise too_large(f"Request body is over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def json_body(request: web.Request, *, allow_empty: bool = False) -> dict[str, Any]:
    """The request's JSON object. M_NOT_JSON for bytes that aren't JSON, M_BAD_JSON for
    JSON that isn't an object (or is nested absurdly deep), M_TOO_LARGE over the limit."""
    raw = await read_body(request)
    if not raw.strip():
        if allow_empty:
            return {}
        raise MatrixError(400, "M_NOT_JSON", "Request body is empty; a JSON object is required")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise MatrixError(400, "M_NOT_JSON", "Request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise bad_json("Request body must be a JSON object")
    if not _depth_ok(value, 0):
        raise bad_json("Request body is nested too deeply")
    return value


MAX_BODY: web.AppKey[int] = web.AppKey("max_body", int)
