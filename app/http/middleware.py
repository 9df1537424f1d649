"""Middlewares: Matrix error bodies for every failure, and CORS on every response."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from .errors import MatrixError, unrecognized
from .json import json_response

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: The spec's recommended CORS headers (client-server API, "Web browser clients").
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "X-Requested-With, Content-Type, Authorization",
}


@web.middleware
async def cors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answers every preflight, and puts the CORS headers on every response, errors included."""
    if request.method == "OPTIONS":
        response: web.StreamResponse = web.Response(status=204)
    else:
        response = await handler(request)
    if not response.prepared:
        response.headers.update(CORS_HEADERS)
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turns MatrixError, aiohttp's routing errors and crashes into the spec's error bodies."""
    try:
        return await handler(request)
    except MatrixError as e:
        response = json_response(e.body(), status=e.status)
        retry_ms = e.extra.get("retry_after_ms")
        if isinstance(retry_ms, int):  # the header the spec prefers since v1.10, in seconds
            response.headers["Retry-After"] = str(max(1, -(-retry_ms // 1000)))
        return response
    except web.HTTPMethodNotAllowed:
        return json_response(unrecognized(405).body(), status=405)
    except web.HTTPNotFound:
        return json_response(unrecognized(404).body(), status=404)
    except web.HTTPException as e:
        if e.status >= 400:
            body = {"errcode": "M_UNKNOWN", "error": e.reason}
            return json_response(body, status=e.status)
        raise
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        body = {"errcode": "M_UNKNOWN", "error": "Internal server error"}
        return json_response(body, status=500)
