"""Fixtures of the media tests: on the scale profile the media live in a real S3
server (``weed mini``, one per test session, a fresh bucket per server), on the
embedded profile in the data directory.

- ``s3``: the session's S3 server (started on first use, stopped at the end).
- ``media_overrides``: the configuration keys that put a server's media where
  its profile keeps them (``{}`` embedded; the S3 keys and a new bucket, scale).
- ``media_server``: a server started with them (plus ``media_config`` if a test
  overrides that fixture), and ``media_client`` a client for it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.e2e.harness import Client, Server, ServerFactory
from tests.seaweed import ACCESS_KEY, SECRET_KEY, Seaweed, start_seaweed


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seaweed]:
    server = start_seaweed(Path(tmp_path_factory.mktemp("seaweed")))
    try:
        yield server
    finally:
        server.stop()


def s3_overrides(s3: Seaweed) -> dict[str, Any]:
    return {
        "s3_endpoint": s3.endpoint,
        "s3_bucket": "t" + uuid.uuid4().hex[:16],
        "s3_access_key": ACCESS_KEY,
        "s3_secret_key": SECRET_KEY,
        "s3_secure": False,
    }


@pytest.fixture
def media_overrides(profile: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    if profile != "scale":
        return {}
    return s3_overrides(request.getfixturevalue("s3"))


@pytest.fixture
def media_config() -> dict[str, Any]:
    return {}


@pytest.fixture
async def media_server(
    start_server: ServerFactory, media_overrides: dict[str, Any], media_config: dict[str, Any]
) -> Server:
    return await start_server(**media_overrides, **media_config)


@pytest.fixture
def media_client(http: aiohttp.ClientSession, media_server: Server) -> Client:
    return Client(http, media_server.base_url)
