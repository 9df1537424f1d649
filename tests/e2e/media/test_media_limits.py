"""Upload limits on both profiles: a 20 MB upload streams (memory stays flat), an
upload over the limit or cut short leaves nothing behind, in storage or in the
read model."""

from __future__ import annotations

import asyncio
import os
import tracemalloc
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.e2e.harness import Client, Server
from tests.e2e.media.helpers import V1, fetch, sha, split_mxc, upload

MIB = 1024 * 1024


@pytest.fixture
def media_config() -> dict[str, Any]:
    return {"max_upload_size": 24 * MIB}


async def _nothing_left(server: Server) -> None:
    """No blob, no staged file, no media row: waits (bounded) for the server to
    finish handling a connection the client dropped."""
    media = server.services.media
    assert media is not None
    for _ in range(100):
        staged = list(media.staging_dir.iterdir())
        keys = await media.blobs.keys()
        rows = list(server.services.readdb.iter_rows("SELECT media_id FROM media"))
        if not staged and not keys and not rows:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"left behind: staged={staged} blobs={keys} rows={rows}")


async def _chunks(total: int, seed: bytes) -> AsyncIterator[bytes]:
    block = (seed * (64 * 1024 // len(seed) + 1))[: 64 * 1024]
    sent = 0
    while sent < total:
        piece = block[: min(len(block), total - sent)]
        sent += len(piece)
        yield piece


async def test_a_20_mb_upload_streams_and_comes_back_identical(
    media_server: Server, media_client: Client, http: aiohttp.ClientSession
) -> None:
    alice = await media_client.register()
    total = 20 * MIB
    seed = os.urandom(4096)
    expected = b"".join([c async for c in _chunks(total, seed)])
    expected_sha = sha(expected)
    del expected

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        baseline = tracemalloc.get_traced_memory()[0]
        status, body = await upload(
            http, media_server, alice.token, _chunks(total, seed), content_type="video/mp4"
        )
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    assert status == 200, body
    # Server and client share this process: both together stay well below the 20 MiB
    # sent. The bound is S3's: minio holds two 5 MiB parts at once (the one being sent,
    # the next being read), whatever the file's size; on disk it is the 1 MiB batch.
    limit = 12 * MIB if media_server.config.s3_endpoint else 8 * MIB
    assert peak < limit, f"peak Python allocation grew by {peak / MIB:.1f} MiB"

    server_name, media_id = split_mxc(body["content_uri"])
    status, headers, raw = await fetch(
        http, media_server, f"{V1}/download/{server_name}/{media_id}", alice.token
    )
    assert status == 200
    assert int(headers["Content-Length"]) == total
    assert sha(raw) == expected_sha


async def test_over_the_limit_and_aborted_uploads_leave_nothing(
    start_server: Any, media_overrides: dict[str, Any], http: aiohttp.ClientSession
) -> None:
    server = await start_server(**media_overrides, max_upload_size=MIB)
    client = Client(http, server.base_url)
    alice = await client.register()

    # Declared too large: refused before a byte is read.
    status, body = await upload(http, server, alice.token, os.urandom(MIB + 1))
    assert (status, body["errcode"]) == (413, "M_TOO_LARGE")
    # Chunked, no length: refused once the limit is passed.
    status, body = await upload(http, server, alice.token, _chunks(3 * MIB, b"x"))
    assert (status, body["errcode"]) == (413, "M_TOO_LARGE")
    await _nothing_left(server)

    # Cut short: the client promises 500 kB, sends 100 kB and hangs up.
    host, port = server.base_url.removeprefix("http://").split(":")
    _, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        (
            "POST /_matrix/media/v3/upload HTTP/1.1\r\n"
            f"Host: {host}\r\nAuthorization: Bearer {alice.token}\r\n"
            "Content-Type: application/octet-stream\r\nContent-Length: 500000\r\n\r\n"
        ).encode()
        + os.urandom(100_000)
    )
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    await _nothing_left(server)

    # An async upload cut short leaves its reservation empty, and reusable.
    status, body = await client.post("/_matrix/media/v1/create", {}, token=alice.token)
    _, media_id = split_mxc(body["content_uri"])
    _, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        (
            f"PUT /_matrix/media/v3/upload/{server.server_name}/{media_id} HTTP/1.1\r\n"
            f"Host: {host}\r\nAuthorization: Bearer {alice.token}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
            "1000\r\n"
        ).encode()
        + b"y" * 100
    )
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    media = server.services.media
    assert media is not None
    for _ in range(100):
        if not list(media.staging_dir.iterdir()):
            break
        await asyncio.sleep(0.05)
    assert await media.blobs.keys() == []
    status, raw_body = await client.get(
        f"{V1}/download/{server.server_name}/{media_id}?timeout_ms=0", token=alice.token
    )
    assert (status, raw_body["errcode"]) == (504, "M_NOT_YET_UPLOADED")
    async with http.put(
        f"{server.base_url}/_matrix/media/v3/upload/{server.server_name}/{media_id}",
        data=b"complete",
        headers={"Authorization": f"Bearer {alice.token}", "Content-Type": "text/plain"},
    ) as response:
        assert response.status == 200
    status, _, raw = await fetch(
        http, server, f"{V1}/download/{server.server_name}/{media_id}", alice.token
    )
    assert (status, raw) == (200, b"complete")
