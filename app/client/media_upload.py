"""The media repository's writes: uploads, and reserving an ``mxc://`` URI for an
asynchronous upload. These stay under ``/_matrix/media`` in Matrix 1.11 (the
spec moves them later); all require authentication.
"""

from __future__ import annotations

from aiohttp import web

from tessera.app.http.context import require_auth
from tessera.app.http.errors import MatrixError, forbidden
from tessera.app.http.json import json_response

from .media import media_service

routes = web.RouteTableDef()


@routes.post("/_matrix/media/v3/upload")
@routes.post("/_matrix/media/r0/upload")
async def upload(request: web.Request) -> web.Response:
    """POST /_matrix/media/v3/upload"""
    requester = require_auth(request)
    media = media_service(request)
    media_id = await media.upload(request, requester.user_id)
    return json_response({"content_uri": media.mxc(media_id)})


@routes.put("/_matrix/media/v3/upload/{serverName}/{mediaId}")
async def upload_to(request: web.Request) -> web.Response:
    """PUT /_matrix/media/v3/upload/{serverName}/{mediaId}"""
    requester = require_auth(request)
    media = media_service(request)
    server_name, media_id = request.match_info["serverName"], request.match_info["mediaId"]
    if server_name != media.server_name:
        raise forbidden("Media of other servers cannot be uploaded here")
    try:
        media.check_uri(server_name, media_id)
    except MatrixError:
        raise MatrixError(404, "M_NOT_FOUND", "Unknown media ID") from None
    await media.upload(request, requester.user_id, reserved_id=media_id)
    return json_response({})


@routes.post("/_matrix/media/v1/create")
async def create(request: web.Request) -> web.Response:
    """POST /_matrix/media/v1/create"""
    requester = require_auth(request)
    content_uri, expires_at = await media_service(request).create(requester.user_id)
    return json_response({"content_uri": content_uri, "unused_expires_at": expires_at})
