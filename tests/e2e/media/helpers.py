"""Small HTTP helpers of the media tests: raw bytes in and out, headers kept."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import orjson
from multidict import CIMultiDictProxy

from tests.e2e.harness import Server

V1 = "/_matrix/client/v1/media"
LEGACY = "/_matrix/media/v3"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def split_mxc(mxc: str) -> tuple[str, str]:
    assert mxc.startswith("mxc://"), mxc
    server, _, media_id = mxc[len("mxc://") :].partition("/")
    return server, media_id


async def upload(
    http: aiohttp.ClientSession,
    server: Server,
    token: str,
    data: bytes | AsyncIterator[bytes],
    *,
    content_type: str = "application/octet-stream",
    filename: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, Any]:
    params = {"filename": filename} if filename is not None else None
    all_headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type}
    all_headers.update(headers or {})
    async with http.post(
        server.base_url + LEGACY + "/upload", data=data, headers=all_headers, params=params
    ) as response:
        raw = await response.read()
        return response.status, orjson.loads(raw) if raw else None


async def fetch(
    http: aiohttp.ClientSession,
    server: Server,
    path: str,
    token: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
) -> tuple[int, CIMultiDictProxy[str], bytes]:
    all_headers = dict(headers or {})
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    async with http.get(server.base_url + path, headers=all_headers, params=params) as response:
        return response.status, response.headers, await response.read()


def body_json(raw: bytes) -> Any:
    return orjson.loads(raw)
