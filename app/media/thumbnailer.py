"""Thumbnails of stored media: generated at upload for the configured sizes, on
demand for others, each stored once and recorded (``media.thumbnail_stored``).

A request is answered from the closest stored fit when there is one (a
configured size at least as large as asked and at most twice as large), so
arbitrary sizes cannot fill storage with near-duplicates; otherwise the exact
size is generated and kept. Generation runs under a per-media lock, so a burst
of requests for a new image decodes it once.

Pillow is CPU-bound: it runs on a small pool of its own, never on the default
executor, where it would queue the event store's and the read models' calls
(every upload's own I/O) behind a backlog of thumbnails. Generation at upload
is background work and takes one slot of that pool at a time; requests for a
thumbnail not made yet are served first.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
from concurrent.futures import ThreadPoolExecutor

from tessera.app.applied import AppliedPositions
from tessera.app.config import Config
from tessera.app.http.errors import MatrixError, too_large
from tessera.command.media import MediaCommands, MediaError
from tessera.query.media import MediaRow, ThumbnailRow, athumbnails
from tessera.schema.blobs import BlobStore, read_all
from tessera.schema.media import MediaUploaded, ThumbnailStored, thumbnail_spec
from tessera.schema.readmodel import ReadModelDatabase

from . import thumbnails as pil
from .sizes import MAX_THUMBNAIL_DIMENSION, ThumbnailSize, close_fit, parse_thumbnail_size

_log = logging.getLogger(__name__)

ANIMATABLE = frozenset({"image/gif", "image/webp"})
#: Threads decoding and encoding images (Pillow releases the GIL while it works).
PIL_THREADS = 2


@dataclasses.dataclass(frozen=True, slots=True)
class Served:
    """A thumbnail to send: its bytes in hand (just made) or its blob to stream."""

    content_type: str
    width: int
    height: int
    size: int
    blob: str
    data: bytes | None = None


def cannot_thumbnail(
    reason: str = "Cannot generate thumbnails for the requested content",
) -> MatrixError:
    return MatrixError(400, "M_UNKNOWN", reason)


class Thumbnailer:
    def __init__(
        self,
        config: Config,
        blobs: BlobStore,
        commands: MediaCommands,
        readdb: ReadModelDatabase,
        applied: AppliedPositions,
    ) -> None:
        self.blobs = blobs
        self.commands = commands
        self.readdb = readdb
        self.applied = applied
        self.max_pixels = config.max_image_pixels
        self.max_source = config.max_upload_size
        self.configured = [parse_thumbnail_size(s) for s in config.thumbnail_sizes]
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._pool = ThreadPoolExecutor(PIL_THREADS, thread_name_prefix="thumbnails")
        self._background = asyncio.Semaphore(1)

    def _lock(self, media_id: str) -> asyncio.Lock:
        lock = self._locks.get(media_id)
        if lock is None:
            lock = self._locks[media_id] = asyncio.Lock()
        return lock

    def _release(self, media_id: str) -> None:
        lock = self._locks.get(media_id)
        if lock is not None and not lock.locked():
            del self._locks[media_id]

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._pool.shutdown(wait=False, cancel_futures=True)

    # --- at upload ----------------------------------------------------------------

    def pregenerate(self, media: MediaUploaded) -> None:
        """Start making the configured sizes of a new image, without waiting."""
        if media.content_type not in pil.THUMBNAILABLE or not self.configured:
            return
        task = asyncio.create_task(self._pregenerate(media), name=f"thumbnails:{media.media_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _pregenerate(self, media: MediaUploaded) -> None:
        requests = [pil.Request(s.width, s.height, s.method) for s in self.configured]
        try:
            async with self._background, self._lock(media.media_id):
                await self._generate(media.media_id, media.blob, requests)
        except (MatrixError, MediaError) as e:
            _log.info("no thumbnails for %s: %s", media.media_id, e)
        except Exception:
            _log.exception("thumbnailing %s failed", media.media_id)
        finally:
            self._release(media.media_id)

    # --- on request ---------------------------------------------------------------

    def _normalise(
        self, row: MediaRow, width: int, height: int, method: str, animated: bool
    ) -> pil.Request:
        width = min(width, MAX_THUMBNAIL_DIMENSION)
        height = min(height, MAX_THUMBNAIL_DIMENSION)
        fit: ThumbnailSize | None = close_fit(self.configured, width, height, method)
        if fit is not None:
            width, height = fit.width, fit.height
        return pil.Request(width, height, method, animated and row.content_type in ANIMATABLE)

    async def thumbnail(
        self, row: MediaRow, width: int, height: int, method: str, animated: bool
    ) -> Served:
        if row.content_type not in pil.THUMBNAILABLE or row.blob is None:
            raise cannot_thumbnail()
        request = self._normalise(row, width, height, method, animated)
        spec = thumbnail_spec(request.width, request.height, request.method, request.animated)
        stored = await self._stored(row.media_id, spec)
        if stored is not None:
            return stored
        try:
            async with self._lock(row.media_id):
                stored = await self._stored(row.media_id, spec)  # made while we waited?
                if stored is not None:
                    return stored
                made = await self._generate(row.media_id, row.blob, [request])
                return made[0]
        finally:
            self._release(row.media_id)

    async def _stored(self, media_id: str, spec: str) -> Served | None:
        for t in await athumbnails(self.readdb, media_id):
            if t.spec == spec:
                return _served(t)
        return None

    async def _generate(
        self, media_id: str, source_blob: str, requests: list[pil.Request]
    ) -> list[Served]:
        try:
            source = await read_all(self.blobs, source_blob, self.max_source)
        except ValueError:
            raise too_large("Content is too large to thumbnail") from None
        try:
            made = await asyncio.get_running_loop().run_in_executor(
                self._pool, pil.make_thumbnails, source, requests, self.max_pixels
            )
        except pil.ImageTooLarge:
            raise too_large("Content is too large to thumbnail") from None
        except pil.CannotThumbnail:
            raise cannot_thumbnail() from None
        del source
        existing = {t.spec for t in await athumbnails(self.readdb, media_id)}
        served: list[Served] = []
        positions: list[int] = []
        for request, thumb in zip(requests, made, strict=True):
            spec = thumbnail_spec(request.width, request.height, request.method, request.animated)
            blob = f"thumbnails/{media_id[:2]}/{media_id}/{spec}-{secrets.token_hex(4)}"
            served.append(
                Served(
                    thumb.content_type, thumb.width, thumb.height, len(thumb.data), blob, thumb.data
                )
            )
            if spec in existing:
                continue
            await self.blobs.put_bytes(blob, thumb.data, thumb.content_type)
            record = ThumbnailStored(
                media_id, spec, thumb.width, thumb.height, thumb.content_type, len(thumb.data), blob
            )
            try:
                written, recorded = await self.commands.record_thumbnail(record)
            except BaseException:
                await self.blobs.delete(blob)
                raise
            if not recorded:  # another process stored this spec first: keep theirs
                await self.blobs.delete(blob)
            positions.extend(written)
        if positions:
            await self.applied.wait_for(max(positions))
        return served


def _served(t: ThumbnailRow) -> Served:
    return Served(t.content_type, t.width, t.height, t.size, t.blob)
