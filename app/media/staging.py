"""Staging an upload: the request body streamed to a temporary file, hashed and
counted as it arrives, never held in memory whole.

The body is refused as soon as it passes the limit (or up front, when its
``Content-Length`` says so). A body that ends early (the client went away, or
sent fewer bytes than its ``Content-Length``) is refused too, and either way the
temporary file is removed: storage only ever sees complete, accepted content.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from aiohttp import web

from tessera.app.http.errors import MatrixError, too_large

#: Bytes gathered before one write (one thread hop per write, not per network read).
WRITE_BATCH = 1024 * 1024


class UploadIncomplete(Exception):
    """The body ended before its announced length, or the connection broke."""


@dataclasses.dataclass(frozen=True, slots=True)
class Staged:
    path: Path
    size: int
    sha256: str

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def _write(file: BinaryIO, digest: hashlib._Hash, data: bytes) -> None:
    digest.update(data)  # hashlib releases the GIL for large buffers
    file.write(data)


async def stage_stream(
    chunks: AsyncIterator[bytes], staging_dir: Path, limit: int, expected: int | None = None
) -> Staged:
    """``chunks`` into a new file of ``staging_dir``: its path, size and SHA-256.

    Raises M_TOO_LARGE past ``limit`` bytes, UploadIncomplete when fewer than
    ``expected`` bytes came; the file is gone in both cases."""
    path = staging_dir / f"upload-{uuid.uuid4().hex}"
    digest = hashlib.sha256()
    size = 0
    file = await asyncio.to_thread(path.open, "wb")
    try:
        pending: list[bytes] = []
        pending_size = 0
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise too_large(f"Upload is over the {limit} byte limit")
            pending.append(chunk)
            pending_size += len(chunk)
            if pending_size >= WRITE_BATCH:
                await asyncio.to_thread(_write, file, digest, b"".join(pending))
                pending, pending_size = [], 0
        if pending:
            await asyncio.to_thread(_write, file, digest, b"".join(pending))
        if expected is not None and size != expected:
            raise UploadIncomplete(f"got {size} of {expected} bytes")
        await asyncio.to_thread(file.close)
    except BaseException:
        file.close()
        path.unlink(missing_ok=True)
        raise
    return Staged(path, size, digest.hexdigest())


async def _body(request: web.Request) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.content.iter_any():
            yield chunk
    except (ConnectionError, asyncio.IncompleteReadError) as e:
        raise UploadIncomplete(str(e)) from None
    except Exception as e:  # aiohttp's payload errors for a broken body
        if type(e).__name__ in {"ClientPayloadError", "PayloadEncodingError"}:
            raise UploadIncomplete(str(e)) from None
        raise


async def stage_request(request: web.Request, staging_dir: Path, limit: int) -> Staged:
    """The request's body, staged (see ``stage_stream``)."""
    length = request.content_length
    if length is not None and length > limit:
        raise too_large(f"Upload is over the {limit} byte limit")
    try:
        staged = await stage_stream(_body(request), staging_dir, limit, length)
    except UploadIncomplete:
        # The client is most likely gone; if not, it learns its body was cut short.
        raise MatrixError(400, "M_UNKNOWN", "The upload ended before all its bytes came") from None
    return staged
