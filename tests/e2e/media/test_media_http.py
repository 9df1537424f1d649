"""Uploads and downloads over HTTP, both profiles (scale: the bytes in a real S3
server): bytes back identical with the spec's headers, ranges, async uploads."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import aiohttp
import pytest

from tests.e2e.harness import Client, Server
from tests.e2e.media.helpers import LEGACY, V1, body_json, fetch, sha, split_mxc, upload
from tests.openapi import assert_matches_spec


async def test_upload_then_download_gives_the_same_bytes_and_headers(
    media_server: Server, media_client: Client, http: aiohttp.ClientSession
) -> None:
    alice = await media_client.register()
    data = os.urandom(300_000)
    status, body = await upload(
        http,
        media_server,
        alice.token,
        data,
        content_type="application/pdf",
        filename="résumé final.pdf",
    )
    assert status == 200, body
    assert_matches_spec("POST", LEGACY + "/upload", 200, body)
    server_name, media_id = split_mxc(body["content_uri"])
    assert server_name == media_server.server_name

    path = f"{V1}/download/{server_name}/{media_id}"
    status, headers, raw = await fetch(http, media_server, path, alice.token)
    assert status == 200
    assert sha(raw) == sha(data)
    assert headers["Content-Type"] == "application/pdf"
    # Not a type safe to render inline; a non-ASCII name goes RFC 6266 style.
    assert headers["Content-Disposition"] == (
        "attachment; filename*=utf-8''r%C3%A9sum%C3%A9%20final.pdf"
    )
    assert headers["Content-Security-Policy"].startswith("sandbox;")
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cross-Origin-Resource-Policy"] == "cross-origin"

    status, _, raw = await fetch(http, media_server, path)  # authenticated media need a token
    assert status == 401
    assert body_json(raw)["errcode"] == "M_MISSING_TOKEN"
    legacy = f"{LEGACY}/download/{server_name}/{media_id}"
    status, _, raw = await fetch(http, media_server, legacy)  # the deprecated ones do not
    assert (status, sha(raw)) == (200, sha(data))

    status, headers, raw = await fetch(http, media_server, path + "/other.txt", alice.token)
    assert status == 200 and sha(raw) == sha(data)
    assert headers["Content-Disposition"] == 'attachment; filename="other.txt"'


async def test_inline_types_ranges_and_config(
    media_server: Server, media_client: Client, http: aiohttp.ClientSession
) -> None:
    alice = await media_client.register()
    data = bytes(range(256)) * 40
    status, body = await upload(
        http, media_server, alice.token, data, content_type="image/png", filename="a.png"
    )
    assert status == 200, body
    server_name, media_id = split_mxc(body["content_uri"])
    path = f"{V1}/download/{server_name}/{media_id}"

    status, headers, raw = await fetch(http, media_server, path, alice.token)
    assert headers["Content-Disposition"] == 'inline; filename="a.png"'
    assert headers["Accept-Ranges"] == "bytes"

    status, headers, raw = await fetch(http, media_server, path, alice.token,
                                       headers={"Range": "bytes=100-1123"})  # fmt: skip
    assert status == 206
    assert headers["Content-Range"] == f"bytes 100-1123/{len(data)}"
    assert raw == data[100:1124]
    status, headers, raw = await fetch(http, media_server, path, alice.token,
                                       headers={"Range": "bytes=-10"})  # fmt: skip
    assert (status, raw) == (206, data[-10:])
    status, headers, raw = await fetch(http, media_server, path, alice.token,
                                       headers={"Range": f"bytes={len(data)}-"})  # fmt: skip
    assert status == 416
    assert headers["Content-Range"] == f"bytes */{len(data)}"

    status, body = await media_client.get(V1 + "/config", token=alice.token)
    assert status == 200
    assert_matches_spec("GET", V1 + "/config", 200, body)
    assert body["m.upload.size"] == media_server.config.max_upload_size
    status, body = await media_client.get(V1 + "/config")
    assert status == 401


async def test_unknown_and_remote_media_are_not_found(
    media_server: Server, media_client: Client
) -> None:
    alice = await media_client.register()
    for path in (
        f"{V1}/download/{media_server.server_name}/doesNotExist",
        f"{V1}/download/{media_server.server_name}/bad.id",
        f"{V1}/download/other.example.org/abcdef",
        f"{V1}/thumbnail/other.example.org/abcdef?width=32&height=32",
    ):
        status, body = await media_client.get(path, token=alice.token)
        assert (status, body["errcode"]) == (404, "M_NOT_FOUND"), path
    status, body = await media_client.get(
        f"{V1}/download/other.example.org/abcdef", token=alice.token
    )
    assert "federate" in body["error"]


@pytest.fixture
def media_config() -> dict[str, Any]:
    return {"max_pending_media": 3}


async def test_async_upload_create_then_put(
    media_server: Server, media_client: Client, http: aiohttp.ClientSession
) -> None:
    alice, bob = await media_client.register(), await media_client.register()
    status, body = await media_client.post("/_matrix/media/v1/create", {}, token=alice.token)
    assert status == 200, body
    assert_matches_spec("POST", "/_matrix/media/v1/create", 200, body)
    server_name, media_id = split_mxc(body["content_uri"])
    assert body["unused_expires_at"] > 0
    download = f"{V1}/download/{server_name}/{media_id}"

    status, body = await media_client.get(download + "?timeout_ms=0", token=alice.token)
    assert (status, body["errcode"]) == (504, "M_NOT_YET_UPLOADED")

    put = f"{media_server.base_url}{LEGACY}/upload/{server_name}/{media_id}"
    data = os.urandom(50_000)

    async def put_as(token: str, payload: bytes) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/plain"}
        async with http.put(put, data=payload, headers=headers) as response:
            return response.status, await response.json()

    assert (await put_as(bob.token, data))[0] == 403  # not bob's reservation
    waiting = asyncio.ensure_future(
        fetch(http, media_server, download + "?timeout_ms=10000", alice.token)
    )
    status, body = await put_as(alice.token, data)
    assert (status, body) == (200, {})
    assert_matches_spec("PUT", f"{LEGACY}/upload/{server_name}/{media_id}", 200, body)
    status, headers, raw = await waiting  # the waiting download got the bytes
    assert (status, sha(raw)) == (200, sha(data))
    assert headers["Content-Disposition"] == "inline"

    status, body = await put_as(alice.token, b"again")
    assert (status, body["errcode"]) == (409, "M_CANNOT_OVERWRITE_MEDIA")
    status, body = await put_as(alice.token, b"x")  # unknown IDs: 404
    put = f"{media_server.base_url}{LEGACY}/upload/{server_name}/neverCreated"
    status, body = await put_as(alice.token, b"x")
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")

    for _ in range(3):  # at most max_pending_media unused reservations
        status, _ = await media_client.post("/_matrix/media/v1/create", {}, token=bob.token)
        assert status == 200
    status, body = await media_client.post("/_matrix/media/v1/create", {}, token=bob.token)
    assert (status, body["errcode"]) == (429, "M_LIMIT_EXCEEDED")
