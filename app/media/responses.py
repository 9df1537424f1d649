"""Serving media bytes: the headers the spec asks for, and HTTP range requests.

- ``Content-Disposition``: ``inline`` only for the spec's list of types that
  cannot run script when rendered as what they claim to be, ``attachment`` for
  everything else; the file name as given at upload (or in the path), quoted
  when plain ASCII, RFC 6266 ``filename*`` (UTF-8, percent-encoded) otherwise.
- ``Content-Security-Policy`` (the spec's recommended sandbox),
  ``X-Content-Type-Options: nosniff`` (a browser must not guess HTML out of an
  "image"), ``Cross-Origin-Resource-Policy: cross-origin`` (web clients on
  another origin may embed media).
- ``Range: bytes=…``: one range answers 206 with ``Content-Range``; several
  ranges are answered with the whole content (allowed, and simpler than
  multipart); an unsatisfiable one answers 416.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from aiohttp import web

from tessera.app.http.errors import not_found
from tessera.schema.blobs import BlobNotFound, BlobStore

from .thumbnailer import Served

INLINE_TYPES = frozenset({
    "text/css", "text/plain", "text/csv", "application/json", "application/ld+json",
    "image/jpeg", "image/gif", "image/png", "image/apng", "image/webp", "image/avif",
    "video/mp4", "video/webm", "video/ogg", "video/quicktime",
    "audio/mp4", "audio/webm", "audio/aac", "audio/mpeg", "audio/ogg", "audio/wave",
    "audio/wav", "audio/x-wav", "audio/x-pn-wav", "audio/flac", "audio/x-flac",
})  # fmt: skip
CSP = (
    "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf;"
    " style-src 'unsafe-inline'; object-src 'self';"
)
COMMON_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Resource-Policy": "cross-origin",
    # Media never change once uploaded; private: authenticated responses stay out of shared caches.
    "Cache-Control": "private, max-age=86400, immutable",
}
_PLAIN_NAME = re.compile(r"^[\x20-\x7e]+$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def disposition(content_type: str, file_name: str | None, *, force_inline: bool = False) -> str:
    base_type = content_type.split(";", maxsplit=1)[0].strip().lower()
    kind = "inline" if force_inline or base_type in INLINE_TYPES else "attachment"
    if not file_name:
        return kind
    if _PLAIN_NAME.match(file_name) and '"' not in file_name and "\\" not in file_name:
        return f'{kind}; filename="{file_name}"'
    return f"{kind}; filename*=utf-8''{quote(file_name, safe='')}"


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, end)`` inclusive for a single satisfiable range; None for no (or
    an unsupported) range; HTTPRequestRangeNotSatisfiable when out of bounds."""
    if header is None:
        return None
    match = _RANGE.match(header.strip().replace(" ", ""))
    if match is None:
        return None  # several ranges or another unit: serve the whole content
    first, last = match[1], match[2]
    if not first and not last:
        return None
    if not first:  # the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise _unsatisfiable(size)
        return max(0, size - suffix), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        raise _unsatisfiable(size)
    return start, end


def _unsatisfiable(size: int) -> web.HTTPRequestRangeNotSatisfiable:
    return web.HTTPRequestRangeNotSatisfiable(headers={"Content-Range": f"bytes */{size}"})


async def stream_blob(
    request: web.Request,
    blobs: BlobStore,
    blob: str,
    *,
    size: int,
    content_type: str,
    content_disposition: str,
    etag: str | None = None,
) -> web.StreamResponse:
    """The blob as the response, whole or the requested range."""
    try:
        span = parse_range(request.headers.get("Range"), size)
    except web.HTTPRequestRangeNotSatisfiable as e:  # answered here: middleware drops headers
        return web.Response(status=416, headers={**COMMON_HEADERS, **e.headers})
    start, end = span if span is not None else (0, size - 1)
    length = max(0, end - start + 1)
    response = web.StreamResponse(status=206 if span is not None else 200)
    response.headers.update(COMMON_HEADERS)
    response.headers["Content-Type"] = content_type
    response.headers["Content-Disposition"] = content_disposition
    response.headers["Accept-Ranges"] = "bytes"
    if etag:
        response.headers["ETag"] = f'"{etag}"'
    if span is not None:
        response.headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    response.content_length = length
    chunks = blobs.stream(blob, start, length)
    try:  # closed however it ends: an S3 body holds a pooled connection
        try:
            first = await anext(chunks, b"")  # BlobNotFound comes before any header is sent
        except BlobNotFound:
            raise not_found("The media's content is missing from storage") from None
        await response.prepare(request)
        if request.method != "HEAD":
            if first:
                await response.write(first)
            async for chunk in chunks:
                await response.write(chunk)
    finally:
        await chunks.aclose()
    await response.write_eof()
    return response


async def send_thumbnail(
    request: web.Request, blobs: BlobStore, served: Served
) -> web.StreamResponse:
    name = "thumbnail." + served.content_type.split("/")[1]
    content_disposition = disposition(served.content_type, name, force_inline=True)
    if served.data is None:
        return await stream_blob(
            request,
            blobs,
            served.blob,
            size=served.size,
            content_type=served.content_type,
            content_disposition=content_disposition,
        )
    response = web.Response(body=served.data, content_type=served.content_type)
    response.headers.update(COMMON_HEADERS)
    response.headers["Content-Disposition"] = content_disposition
    return response
