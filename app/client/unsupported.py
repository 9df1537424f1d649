"""Endpoints Element calls at start for features this server does not offer,
answered as the spec says a server without the feature answers."""

from __future__ import annotations

from aiohttp import web

from tessera.app.http.context import require_auth
from tessera.app.http.errors import unrecognized
from tessera.app.http.json import json_response

routes = web.RouteTableDef()


@routes.get("/_matrix/client/v3/voip/turnServer")
async def turn_server(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/voip/turnServer

    No TURN server is configured: an empty object (clients then call without
    relaying), as homeservers without TURN answer."""
    require_auth(request)
    return json_response({})


@routes.get("/_matrix/client/v3/thirdparty/protocols")
async def thirdparty_protocols(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/thirdparty/protocols"""
    require_auth(request)
    return json_response({})


@routes.get("/_matrix/client/v1/auth_metadata")
async def auth_metadata(request: web.Request) -> web.Response:
    """GET /_matrix/client/v1/auth_metadata

    This server uses the legacy authentication API, not OAuth 2.0."""
    raise unrecognized(404)
