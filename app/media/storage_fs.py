"""Blob storage on the local filesystem: ``<data_dir>/media/<key>`` (embedded profile).

A blob appears under its final name only complete: staged files are renamed
into place (same filesystem: the staging directory is ``<root>/.staging``), and
small writes go to a temporary name first. Every call that touches the disk
runs in a thread.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncGenerator
from pathlib import Path

from tessera.schema.blobs import CHUNK_SIZE, BlobNotFound

STAGING = ".staging"


class FilesystemBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.staging_dir = root / STAGING
        self.staging_dir.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        if not key or key.startswith(("/", ".")) or ".." in key.split("/"):
            raise ValueError(f"bad blob key {key!r}")
        return self.root / key

    def _move(self, source: Path, key: str) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(source, target)
        except OSError:  # another filesystem after all: copy, then rename into place
            temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
            shutil.copyfile(source, temporary)
            os.replace(temporary, target)
            source.unlink(missing_ok=True)

    async def put_file(self, key: str, path: Path, content_type: str) -> None:
        await asyncio.to_thread(self._move, path, key)

    def _write(self, key: str, data: bytes) -> None:
        temporary = self.staging_dir / uuid.uuid4().hex
        temporary.write_bytes(data)
        self._move(temporary, key)

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._write, key, data)

    async def stream(
        self, key: str, start: int = 0, length: int | None = None
    ) -> AsyncGenerator[bytes, None]:
        path = self._path(key)
        try:
            file = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            raise BlobNotFound(key) from None
        try:
            if start:
                await asyncio.to_thread(file.seek, start)
            remaining = length
            while remaining is None or remaining > 0:
                size = CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining)
                chunk = await asyncio.to_thread(file.read, size)
                if not chunk:
                    break
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
        finally:
            file.close()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    def _keys(self) -> list[str]:
        found = []
        for path in self.root.rglob("*"):
            relative = path.relative_to(self.root)
            if path.is_file() and relative.parts[0] != STAGING:
                found.append(relative.as_posix())
        return sorted(found)

    async def keys(self) -> list[str]:
        return await asyncio.to_thread(self._keys)

    async def close(self) -> None:
        return None
