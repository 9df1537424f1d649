"""The ``media`` scenario: 200 uploads of 256 KiB images, then their downloads and
thumbnails, all concurrently (16 clients, each on its own connection).

The images are made before the clock starts (a few distinct noisy JPEGs, padded
to exactly 256 KiB: bytes after a JPEG's end marker are ignored by decoders). The
figure is uploads per second; the details give the upload throughput and the
latencies of uploads, downloads (whole file, checked by SHA-256) and thumbnails
(a configured size, 96x96 crop, and an on-demand one, 200x150 scale).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import random
import time
import uuid

from PIL import Image

from bench.matrix import BenchClient
from bench.report import Result
from bench.stats import percentile, rate

SIZE = 256 * 1024
MEDIA = "/_matrix/client/v1/media"


def _images(count: int = 8) -> list[bytes]:
    out = []
    rng = random.Random(7)
    for _ in range(count):
        pixels = bytes(rng.getrandbits(8) for _ in range(360 * 270 * 3))
        image = Image.frombytes("RGB", (360, 270), pixels).resize((1200, 900))
        for quality in (85, 70, 50, 30):
            buffer = io.BytesIO()
            image.save(buffer, "JPEG", quality=quality)
            if buffer.tell() <= SIZE:
                break
        data = buffer.getvalue()
        assert len(data) <= SIZE, len(data)
        out.append(data + b"\0" * (SIZE - len(data)))
    return out


async def _get(client: BenchClient, path: str, latencies: list[float]) -> bytes:
    start = time.perf_counter()
    async with client.session.get(
        client.base_url + path, headers={"Authorization": f"Bearer {client.token}"}
    ) as response:
        body = await response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {path} answered {response.status}: {body[:200]!r}")
    latencies.append((time.perf_counter() - start) * 1000)
    return body


async def _upload(client: BenchClient, data: bytes, latencies: list[float]) -> str:
    start = time.perf_counter()
    async with client.session.post(
        client.base_url + "/_matrix/media/v3/upload",
        data=data,
        headers={"Authorization": f"Bearer {client.token}", "Content-Type": "image/jpeg"},
    ) as response:
        body = await response.json()
        if response.status != 200:
            raise RuntimeError(f"upload answered {response.status}: {body}")
    latencies.append((time.perf_counter() - start) * 1000)
    return str(body["content_uri"])[len("mxc://") :]


async def media(base_url: str, targets: object, *, uploads: int = 200, clients: int = 16) -> Result:
    images = _images()
    digests = [hashlib.sha256(i).hexdigest() for i in images]
    users = []
    for _ in range(clients):
        user = BenchClient(base_url)
        await user.register(f"media-{uuid.uuid4().hex[:8]}")
        users.append(user)
    try:
        up: list[float] = []
        start = time.perf_counter()
        uris = await asyncio.gather(
            *(_upload(users[i % clients], images[i % len(images)], up) for i in range(uploads))
        )
        upload_s = time.perf_counter() - start

        down: list[float] = []
        thumbs: list[float] = []

        async def read_back(i: int, uri: str) -> None:
            user = users[i % clients]
            body = await _get(user, f"{MEDIA}/download/{uri}", down)
            if hashlib.sha256(body).hexdigest() != digests[i % len(images)]:
                raise RuntimeError(f"{uri} came back different")
            await _get(user, f"{MEDIA}/thumbnail/{uri}?width=96&height=96&method=crop", thumbs)
            await _get(user, f"{MEDIA}/thumbnail/{uri}?width=200&height=150&method=scale", thumbs)

        start = time.perf_counter()
        await asyncio.gather(*(read_back(i, uri) for i, uri in enumerate(uris)))
        read_s = time.perf_counter() - start
    finally:
        await asyncio.gather(*(u.close() for u in users))
    return Result(
        "media",
        rate(uploads, upload_s),
        "upl/s",
        None,
        details={
            "uploads": uploads,
            "upload_MiB_s": round(uploads * SIZE / upload_s / 2**20, 1),
            "upload_p50_ms": round(percentile(up, 50), 1),
            "upload_p95_ms": round(percentile(up, 95), 1),
            "reads_s": round(read_s, 2),
            "download_p50_ms": round(percentile(down, 50), 1),
            "download_p95_ms": round(percentile(down, 95), 1),
            "thumbnail_p50_ms": round(percentile(thumbs, 50), 1),
            "thumbnail_p95_ms": round(percentile(thumbs, 95), 1),
        },
    )
