"""Building the media repository from the configuration: the blob store the
profile asks for (S3 when ``s3_endpoint`` is set, else the data directory), the
service, the outbound client and URL previews."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path

from tessera.app.applied import AppliedPositions
from tessera.app.config import Config
from tessera.app.outbound import AddressPolicy, OutboundClient
from tessera.command.group_commit import GroupCommitter
from tessera.command.media import MediaCommands
from tessera.schema.blobs import BlobStore
from tessera.schema.log import EventStore
from tessera.schema.readmodel import ReadModelDatabase

from .previews import PreviewService
from .service import MediaService
from .storage_fs import FilesystemBlobStore
from .storage_s3 import S3BlobStore

#: A staged upload this old belongs to no request any more (a process that crashed
#: mid-upload); younger ones may be another process's uploads in flight.
STALE_STAGED_S = 3600.0


def sweep_staging(staging: Path, older_than: float) -> None:
    for path in staging.iterdir():
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < older_than:
                path.unlink()


def media_root(config: Config) -> Path:
    return config.data_dir / "media"


async def open_blob_store(config: Config) -> BlobStore:
    if config.s3_endpoint is None:
        return await asyncio.to_thread(FilesystemBlobStore, media_root(config))
    store = S3BlobStore(
        config.s3_endpoint,
        config.s3_bucket,
        access_key=config.s3_access_key,
        secret_key=config.s3_secret_key,
        secure=config.s3_secure,
        region=config.s3_region,
    )
    try:
        await store.ensure_bucket()
    except BaseException:
        await store.close()
        raise
    return store


async def open_media(
    config: Config,
    *,
    store: EventStore,
    committer: GroupCommitter,
    readdb: ReadModelDatabase,
    applied: AppliedPositions,
    clock: Callable[[], int],
) -> tuple[MediaService, PreviewService]:
    blobs = await open_blob_store(config)
    staging = media_root(config) / ".staging"
    await asyncio.to_thread(staging.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread(sweep_staging, staging, time.time() - STALE_STAGED_S)
    commands = MediaCommands(store, committer, config.server_name)
    media = MediaService(
        config=config,
        blobs=blobs,
        staging_dir=staging,
        commands=commands,
        readdb=readdb,
        applied=applied,
        clock=clock,
    )
    previews = PreviewService(media, OutboundClient(AddressPolicy(config.ip_range_whitelist)))
    return media, previews
