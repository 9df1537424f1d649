"""Blob storage: where media bytes live, behind one small interface.

Two adapters implement it (``tessera.app.media``): the filesystem under the data
directory (the embedded profile) and S3-compatible object storage through the
``minio`` client (the scale profile). Every method is a coroutine; adapters keep
their blocking I/O off the event loop.

Keys are ``/``-separated paths built by the media repository from validated
media IDs only (``[A-Za-z0-9_-]``), never from client text, so an adapter may
map them onto file names without fear of traversal.

Writes take a *staged file*: an upload is streamed to a temporary file first
(hashed and size-checked as it arrives), so storage only ever sees complete,
accepted content, and an adapter can hand a large file to a multipart upload
without holding it in memory.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Protocol

#: How much a stream yields at once.
CHUNK_SIZE = 256 * 1024


class BlobNotFound(Exception):
    """No blob under that key."""


class BlobStore(Protocol):
    async def put_file(self, key: str, path: Path, content_type: str) -> None:
        """Store the file at ``path`` under ``key`` (the file may be moved away)."""
        ...

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        """Store small content (thumbnails) under ``key``."""
        ...

    def stream(
        self, key: str, start: int = 0, length: int | None = None
    ) -> AsyncGenerator[bytes, None]:
        """The blob's bytes from ``start``, ``length`` of them (all when None), in
        chunks; raises BlobNotFound before the first chunk if there is no blob."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the blob; no error if it does not exist."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def keys(self) -> list[str]:
        """Every key stored (for tests and operators' checks; not for hot paths)."""
        ...

    async def close(self) -> None: ...


async def read_all(store: BlobStore, key: str, limit: int) -> bytes:
    """The whole blob, refusing one over ``limit`` bytes (ValueError)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in store.stream(key):
        size += len(chunk)
        if size > limit:
            raise ValueError(f"blob {key} is over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
