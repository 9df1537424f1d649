"""The media repository as the HTTP handlers see it: upload, reserve, look up.

An upload is staged to a temporary file (``staging``), stored in blob storage
under a key of its own, and only then recorded (``media.uploaded``): the log
never names bytes that are not stored. A refused or broken upload leaves
nothing: the staged file is removed, and a blob stored for an upload whose
record was refused (a racing upload to the same reserved ID) is deleted.

Thumbnails (``thumbnailer.Thumbnailer``) are generated in the background after
an image upload answers, and on demand for other sizes.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from aiohttp import web

from tessera.app.applied import AppliedPositions
from tessera.app.config import Config
from tessera.app.http.errors import MatrixError, not_found
from tessera.command.media import MediaCommands, MediaError, new_media_id
from tessera.query.media import MediaRow, aget_media, apending_count
from tessera.schema.blobs import BlobStore
from tessera.schema.media import MediaUploaded, is_valid_media_id
from tessera.schema.readmodel import ReadModelDatabase

from .staging import Staged, stage_request, stage_stream
from .thumbnailer import Thumbnailer

#: The longest a download waits for an async upload to arrive (``timeout_ms``).
MAX_WAIT_MS = 60_000
DEFAULT_WAIT_MS = 20_000
DEFAULT_CONTENT_TYPE = "application/octet-stream"


def media_error(e: MediaError) -> MatrixError:
    return MatrixError(e.status, e.errcode, e.error)


class MediaService:
    def __init__(
        self,
        *,
        config: Config,
        blobs: BlobStore,
        staging_dir: Path,
        commands: MediaCommands,
        readdb: ReadModelDatabase,
        applied: AppliedPositions,
        clock: Callable[[], int],
    ) -> None:
        self.config = config
        self.blobs = blobs
        self.staging_dir = staging_dir
        self.commands = commands
        self.readdb = readdb
        self.applied = applied
        self.clock = clock
        self.thumbnailer = Thumbnailer(config, blobs, commands, readdb, applied)

    @property
    def server_name(self) -> str:
        return self.config.server_name

    def mxc(self, media_id: str) -> str:
        return f"mxc://{self.server_name}/{media_id}"

    async def close(self) -> None:
        await self.thumbnailer.close()
        await self.blobs.close()

    # --- writes -------------------------------------------------------------------

    async def create(self, user_id: str) -> tuple[str, int]:
        """``POST /media/v1/create``: a reserved ``mxc://`` URI and its expiry."""
        now = self.clock()
        if await apending_count(self.readdb, user_id, now) >= self.config.max_pending_media:
            raise MatrixError(
                429,
                "M_LIMIT_EXCEEDED",
                "Too many pending uploads; upload to the media IDs you have first",
                retry_after_ms=60_000,
            )
        try:
            positions, media_id, expires_at = await self.commands.create(
                user_id, now, self.config.unused_media_expiry_ms
            )
        except MediaError as e:
            raise media_error(e) from None
        await self.applied.wait_for(max(positions))
        return self.mxc(media_id), expires_at

    async def upload(
        self,
        request: web.Request,
        user_id: str,
        *,
        reserved_id: str | None = None,
    ) -> str:
        """Store the request's body as new media (or as the content of the
        reserved ID); the media ID."""
        content_type = request.headers.get("Content-Type") or DEFAULT_CONTENT_TYPE
        file_name = request.query.get("filename") or None
        if reserved_id is not None:  # refuse before reading a byte of the body
            agg = await self.commands.load(reserved_id)
            try:
                agg.check_upload(user_id, self.clock(), reserved=True)
            except MediaError as e:
                raise media_error(e) from None
        staged = await stage_request(request, self.staging_dir, self.config.max_upload_size)
        return await self._store(staged, user_id, content_type, file_name, reserved_id)

    async def store_bytes(
        self, user_id: str, data: bytes, content_type: str, file_name: str | None = None
    ) -> str:
        """New media from bytes in hand (a URL preview's image); the media ID."""

        async def one() -> AsyncIterator[bytes]:
            yield data

        staged = await stage_stream(one(), self.staging_dir, self.config.max_upload_size)
        return await self._store(staged, user_id, content_type, file_name, None)

    async def _store(
        self,
        staged: Staged,
        user_id: str,
        content_type: str,
        file_name: str | None,
        reserved_id: str | None,
    ) -> str:
        media_id = reserved_id or new_media_id()
        blob = f"originals/{media_id[:2]}/{media_id}-{secrets.token_hex(4)}"
        try:
            await self.blobs.put_file(blob, staged.path, content_type)
        finally:
            await asyncio.to_thread(staged.discard)
        uploaded = MediaUploaded(
            media_id=media_id,
            user_id=user_id,
            content_type=content_type,
            size=staged.size,
            file_name=file_name,
            sha256=staged.sha256,
            blob=blob,
            uploaded_ts=self.clock(),
        )
        try:
            positions = await self.commands.record_upload(
                uploaded, self.clock(), reserved=reserved_id is not None
            )
        except BaseException as e:
            await self.blobs.delete(blob)
            if isinstance(e, MediaError):
                raise media_error(e) from None
            raise
        await self.applied.wait_for(max(positions))
        self.thumbnailer.pregenerate(uploaded)
        return media_id

    # --- reads --------------------------------------------------------------------

    def check_uri(self, server_name: str, media_id: str) -> None:
        """404 for media this server cannot have: another server's (federation
        is not implemented yet) or an ID outside the spec's character set."""
        if server_name != self.server_name:
            raise not_found(
                f"Remote media ({server_name}) is not available: this server does not federate yet"
            )
        if not is_valid_media_id(media_id):
            raise not_found("Unknown media ID")

    async def ready_media(self, server_name: str, media_id: str, timeout_ms: int) -> MediaRow:
        """The media's row once its content is there, waiting up to ``timeout_ms``
        for an async upload; 404 if unknown, 504 M_NOT_YET_UPLOADED if it stays empty."""
        self.check_uri(server_name, media_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(max(timeout_ms, 0), MAX_WAIT_MS) / 1000
        while True:
            position = self.applied.current()
            row = await aget_media(self.readdb, media_id)
            if row is None or (
                not row.ready and row.expires_at is not None and row.expires_at <= self.clock()
            ):
                raise not_found("Unknown media ID")
            if row.ready:
                return row
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise MatrixError(504, "M_NOT_YET_UPLOADED", "The content is not uploaded yet")
            # Woken by the bus when any projection applies something new.
            await self.applied.changed_after(position, remaining)
