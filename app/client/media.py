"""The media repository's reads: downloads, thumbnails, URL previews, config.

Each route exists twice: the authenticated ``/_matrix/client/v1/media/…``
(Matrix 1.11) and the deprecated ``/_matrix/media/{v3,r0}/…`` that older
clients still call. The legacy download and thumbnail routes stay open without
authentication (not "frozen", see docs/media.md); everything else requires it.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web

from tessera.app.http.context import require_auth, services
from tessera.app.http.errors import MatrixError, invalid_param, missing_param
from tessera.app.http.json import json_response
from tessera.app.media.previews import PreviewService
from tessera.app.media.responses import disposition, send_thumbnail, stream_blob
from tessera.app.media.service import DEFAULT_WAIT_MS, MediaService
from tessera.app.media.sizes import METHODS

routes = web.RouteTableDef()

CLIENT_V1 = "/_matrix/client/v1/media"
LEGACY = ("/_matrix/media/v3", "/_matrix/media/r0")

Handler = Callable[[web.Request], Coroutine[Any, Any, web.StreamResponse]]


def media_service(request: web.Request) -> MediaService:
    media = services(request).media
    if media is None:
        raise MatrixError(404, "M_UNRECOGNIZED", "This server has no media repository")
    return media


def _previews(request: web.Request) -> PreviewService:
    previews = services(request).previews
    if previews is None or not services(request).config.url_preview_enabled:
        raise MatrixError(404, "M_UNRECOGNIZED", "URL previews are disabled on this server")
    return previews


def _int(request: web.Request, name: str, default: int | None = None) -> int:
    raw = request.query.get(name)
    if raw is None:
        if default is None:
            raise missing_param(f"{name} is required")
        return default
    try:
        return int(raw)
    except ValueError:
        raise invalid_param(f"{name} must be an integer") from None


def _bool(request: web.Request, name: str) -> bool:
    raw = request.query.get(name, "false").lower()
    if raw not in ("true", "false"):
        raise invalid_param(f"{name} must be true or false")
    return raw == "true"


def _on_both(path: str, *, authed: bool) -> Callable[[Handler], Handler]:
    """Register a handler at ``/_matrix/client/v1/media{path}`` (requiring auth)
    and at the legacy paths (requiring it only when ``authed``)."""

    def register(handler: Handler) -> Handler:
        async def authenticated(request: web.Request) -> web.StreamResponse:
            require_auth(request)
            return await handler(request)

        routes.get(CLIENT_V1 + path)(authenticated)
        for base in LEGACY:
            routes.get(base + path)(authenticated if authed else handler)
        return handler

    return register


@_on_both("/config", authed=True)
async def config(request: web.Request) -> web.StreamResponse:
    """GET /_matrix/client/v1/media/config (and /_matrix/media/v3/config)"""
    return json_response({"m.upload.size": services(request).config.max_upload_size})


async def _download(request: web.Request, file_name: str | None) -> web.StreamResponse:
    media = media_service(request)
    row = await media.ready_media(
        request.match_info["serverName"],
        request.match_info["mediaId"],
        _int(request, "timeout_ms", DEFAULT_WAIT_MS),
    )
    assert row.blob is not None and row.size is not None and row.content_type is not None
    name = file_name if file_name is not None else row.file_name
    return await stream_blob(
        request,
        media.blobs,
        row.blob,
        size=row.size,
        content_type=row.content_type,
        content_disposition=disposition(row.content_type, name),
        etag=row.sha256,
    )


@_on_both("/download/{serverName}/{mediaId}", authed=False)
async def download(request: web.Request) -> web.StreamResponse:
    """GET /_matrix/client/v1/media/download/{serverName}/{mediaId}"""
    return await _download(request, None)


@_on_both("/download/{serverName}/{mediaId}/{fileName}", authed=False)
async def download_as(request: web.Request) -> web.StreamResponse:
    """GET /_matrix/client/v1/media/download/{serverName}/{mediaId}/{fileName}"""
    return await _download(request, request.match_info["fileName"])


@_on_both("/thumbnail/{serverName}/{mediaId}", authed=False)
async def thumbnail(request: web.Request) -> web.StreamResponse:
    """GET /_matrix/client/v1/media/thumbnail/{serverName}/{mediaId}"""
    media = media_service(request)
    width, height = _int(request, "width"), _int(request, "height")
    method = request.query.get("method", "scale")
    if width < 1 or height < 1:
        raise invalid_param("width and height must be positive")
    if method not in METHODS:
        raise invalid_param("method must be crop or scale")
    animated = _bool(request, "animated")
    row = await media.ready_media(
        request.match_info["serverName"],
        request.match_info["mediaId"],
        _int(request, "timeout_ms", DEFAULT_WAIT_MS),
    )
    served = await media.thumbnailer.thumbnail(row, width, height, method, animated)
    return await send_thumbnail(request, media.blobs, served)


@_on_both("/preview_url", authed=True)
async def preview_url(request: web.Request) -> web.StreamResponse:
    """GET /_matrix/client/v1/media/preview_url"""
    requester = require_auth(request)
    url = request.query.get("url")
    if not url:
        raise missing_param("url is required")
    return json_response(await _previews(request).preview(url, requester.user_id))
