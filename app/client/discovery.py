"""Discovery: what this server is and speaks, asked before anything else."""

from __future__ import annotations

from aiohttp import web

from tessera.app.http.context import require_auth, services
from tessera.app.http.json import json_response
from tessera.app.read_barrier import no_read_barrier
from tessera.kernel.room_versions import DEFAULT_ROOM_VERSION, KNOWN_ROOM_VERSIONS

routes = web.RouteTableDef()

#: What Element needs (matrix-js-sdk refuses servers without v1.5); the endpoints
#: these versions imply that are still missing are listed in docs/architecture.md,
#: "Decisions".
SPEC_VERSIONS = ["v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6", "v1.7", "v1.8", "v1.9", "v1.10",
                 "v1.11", "v1.12"]  # fmt: skip


@routes.get("/_matrix/client/versions")
@no_read_barrier
async def versions(request: web.Request) -> web.Response:
    """GET /_matrix/client/versions"""
    return json_response({"versions": SPEC_VERSIONS, "unstable_features": {}})


@routes.get("/.well-known/matrix/client")
@no_read_barrier
async def well_known_client(request: web.Request) -> web.Response:
    """GET /.well-known/matrix/client"""
    config = services(request).config
    base = config.public_baseurl or f"http://{config.listen}"
    return json_response({"m.homeserver": {"base_url": base.rstrip("/")}})


@routes.get("/.well-known/matrix/server")
@no_read_barrier
async def well_known_server(request: web.Request) -> web.Response:
    """GET /.well-known/matrix/server"""
    return json_response({"m.server": services(request).server_name})


@routes.get("/_matrix/client/v3/capabilities")
async def capabilities(request: web.Request) -> web.Response:
    """GET /_matrix/client/v3/capabilities"""
    require_auth(request)
    return json_response(
        {
            "capabilities": {
                "m.change_password": {"enabled": True},
                "m.room_versions": {
                    "default": DEFAULT_ROOM_VERSION.identifier,
                    "available": {v: "stable" for v in KNOWN_ROOM_VERSIONS},
                },
                "m.set_displayname": {"enabled": True},
                "m.set_avatar_url": {"enabled": True},
                "m.3pid_changes": {"enabled": False},
                "m.get_login_token": {"enabled": False},
            }
        }
    )
