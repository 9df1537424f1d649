"""URL previews (``GET /media/preview_url``): what a link shows before it is opened.

The page is fetched through the outbound guard (``tessera.app.outbound``): no
private or loopback addresses unless whitelisted, bounded redirects, a byte cap
and a deadline. HTML gives its OpenGraph properties (else its title and
description); an image — the page's ``og:image``, or the URL itself — is
downloaded through the same guard and stored in the media repository, and the
preview names it by ``mxc://`` URI with its type, size and dimensions.

Results are cached **in memory, per process**, for ``CACHE_TTL_S`` (an LRU of
``CACHE_ENTRIES``), and concurrent requests for one URL share one fetch. Not
event-sourced on purpose: a preview is a disposable view of someone else's
page, not a fact of this server; losing the cache on restart only costs a
refetch. The images it stored are ordinary media and stay.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from typing import Any
from urllib.parse import urljoin

from tessera.app.http.errors import MatrixError
from tessera.app.outbound import OutboundClient, OutboundFailed, OutboundRefused

from . import thumbnails as pil
from .html_meta import decode_html, page_meta
from .service import MediaService

CACHE_TTL_S = 3600.0
CACHE_ENTRIES = 1000
MAX_PAGE_BYTES = 1024 * 1024
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_URL_LENGTH = 2048
_HTML = ("text/html", "application/xhtml+xml")

Preview = dict[str, Any]


class PreviewService:
    def __init__(self, media: MediaService, client: OutboundClient) -> None:
        self.media = media
        self.client = client
        self._cache: OrderedDict[str, tuple[float, Preview]] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[Preview]] = {}

    async def close(self) -> None:
        await self.client.close()

    async def preview(self, url: str, user_id: str) -> Preview:
        if not url.startswith(("http://", "https://")) or len(url) > MAX_URL_LENGTH:
            raise MatrixError(400, "M_INVALID_PARAM", "url must be an http(s) URL")
        cached = self._cache.get(url)
        if cached is not None and cached[0] > time.monotonic():
            self._cache.move_to_end(url)
            return cached[1]
        pending = self._inflight.get(url)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Preview] = asyncio.get_running_loop().create_future()
        self._inflight[url] = future
        try:
            result = await self._fetch(url, user_id)
        except BaseException as e:
            future.set_exception(e)
            with contextlib.suppress(BaseException):
                future.exception()  # retrieved: no "never retrieved" warning when alone
            raise
        finally:
            del self._inflight[url]
        future.set_result(result)
        self._remember(url, result)
        return result

    def _remember(self, url: str, preview: Preview) -> None:
        self._cache[url] = (time.monotonic() + CACHE_TTL_S, preview)
        self._cache.move_to_end(url)
        while len(self._cache) > CACHE_ENTRIES:
            self._cache.popitem(last=False)

    async def _fetch(self, url: str, user_id: str) -> Preview:
        try:
            page = await self.client.get(url, max_bytes=MAX_PAGE_BYTES, truncate=True)
        except OutboundRefused as e:
            raise MatrixError(403, "M_FORBIDDEN", f"Cannot preview this URL: {e}") from None
        except OutboundFailed as e:
            raise MatrixError(502, "M_UNKNOWN", f"Cannot preview this URL: {e}") from None
        if page.content_type.startswith("image/"):
            if page.truncated:  # an image cut short is no image: fetch it whole
                return await self._image(url, user_id)
            return await self._store_image(page.body, page.content_type, user_id)
        if page.content_type not in _HTML:
            return {}
        preview: Preview = dict(
            page_meta(decode_html(page.body, page.headers.get("Content-Type", "")))
        )
        image_url = preview.pop("og:image", None)
        for key in [k for k in preview if k.startswith("og:image:")]:
            del preview[key]  # describes the remote image, not the one stored
        if image_url:
            with contextlib.suppress(MatrixError):
                preview.update(await self._image(urljoin(page.url, image_url), user_id))
        return preview

    async def _image(self, url: str, user_id: str) -> Preview:
        limit = min(MAX_IMAGE_BYTES, self.media.config.max_upload_size)
        try:
            image = await self.client.get(url, max_bytes=limit)
        except (OutboundRefused, OutboundFailed) as e:
            raise MatrixError(502, "M_UNKNOWN", f"Cannot fetch the image: {e}") from None
        if not image.content_type.startswith("image/"):
            raise MatrixError(502, "M_UNKNOWN", "The preview image is not an image")
        return await self._store_image(image.body, image.content_type, user_id)

    async def _store_image(self, data: bytes, content_type: str, user_id: str) -> Preview:
        media_id = await self.media.store_bytes(user_id, data, content_type)
        preview: Preview = {
            "og:image": self.media.mxc(media_id),
            "og:image:type": content_type,
            "matrix:image:size": len(data),
        }
        with contextlib.suppress(pil.ImageTooLarge, pil.CannotThumbnail):
            width, height, _ = await asyncio.to_thread(
                pil.probe, data, self.media.config.max_image_pixels
            )
            preview["og:image:width"] = width
            preview["og:image:height"] = height
        return preview
