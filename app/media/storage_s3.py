"""Blob storage in an S3-compatible object store through ``minio`` (scale profile).

minio is a blocking client: every call runs on this store's own small thread
pool, so a burst of media traffic cannot starve the default executor that the
event store and read models use. Staged files go up with ``fput_object``, which
switches to a multipart upload for large files and reads the file one 5 MiB part
at a time: a 20 MB upload never sits in memory whole. Downloads stream the object's body
chunk by chunk (ranged ``GET`` for HTTP range requests).
"""

from __future__ import annotations

import asyncio
import functools
import io
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import urllib3
from minio import Minio
from minio.error import S3Error

from tessera.schema.blobs import CHUNK_SIZE, BlobNotFound

T = TypeVar("T")

#: Concurrent S3 calls per process (threads and pooled connections).
MAX_CONCURRENCY = 16
#: Multipart part size for large uploads: S3's minimum, since a part is held in
#: memory while it is sent.
PART_SIZE = 5 * 1024 * 1024
_MISSING = frozenset({"NoSuchKey", "NoSuchObject", "ResourceNotFound"})


class S3BlobStore:
    def __init__(
        self,
        endpoint: str,
        bucket: str,
        *,
        access_key: str | None,
        secret_key: str | None,
        secure: bool = True,
        region: str | None = None,
    ) -> None:
        self.bucket = bucket
        self._pool = ThreadPoolExecutor(MAX_CONCURRENCY, thread_name_prefix="s3")
        http = urllib3.PoolManager(
            maxsize=MAX_CONCURRENCY,
            timeout=urllib3.Timeout(connect=10, read=60),
            retries=urllib3.Retry(total=3, backoff_factor=0.2, status_forcelist=[500, 502, 503]),
        )
        self._client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=http,
        )

    async def _run(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(call, *args, **kwargs))

    async def ensure_bucket(self) -> None:
        """Create the bucket unless it exists (the first start of a new deployment)."""
        if not await self._run(self._client.bucket_exists, self.bucket):
            try:
                await self._run(self._client.make_bucket, self.bucket)
            except S3Error as e:  # another process created it meanwhile
                if e.code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                    raise

    async def put_file(self, key: str, path: Path, content_type: str) -> None:
        await self._run(
            self._client.fput_object,
            self.bucket,
            key,
            str(path),
            content_type=content_type,
            part_size=PART_SIZE,
            # minio's parallel parts queue without bound (a whole file in memory): one at a time.
            num_parallel_uploads=1,
        )

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        await self._run(
            self._client.put_object,
            self.bucket,
            key,
            io.BytesIO(data),
            len(data),
            content_type=content_type,
        )

    async def stream(
        self, key: str, start: int = 0, length: int | None = None
    ) -> AsyncGenerator[bytes, None]:
        try:
            response = await self._run(
                self._client.get_object, self.bucket, key, offset=start, length=length or 0
            )
        except S3Error as e:
            if e.code in _MISSING:
                raise BlobNotFound(key) from None
            raise
        try:
            while True:
                chunk = await self._run(response.read, CHUNK_SIZE)
                if not chunk:
                    break
                yield chunk
        finally:
            response.close()
            response.release_conn()

    async def delete(self, key: str) -> None:
        await self._run(self._client.remove_object, self.bucket, key)

    async def exists(self, key: str) -> bool:
        try:
            await self._run(self._client.stat_object, self.bucket, key)
        except S3Error as e:
            if e.code in _MISSING:
                return False
            raise
        return True

    def _keys(self) -> list[str]:
        objects = self._client.list_objects(self.bucket, recursive=True)
        return sorted(o.object_name for o in objects if o.object_name is not None)

    async def keys(self) -> list[str]:
        return await self._run(self._keys)

    async def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
