"""Fixtures of the end-to-end tests: a real server per test, on both profiles.

Fixtures (each test using ``server`` runs twice, ``[embedded]`` and ``[scale]``):

- ``profile``: ``"embedded"`` (SQLite in a temp dir, in-process bus) or
  ``"scale"`` (a fresh PostgreSQL schema and a JetStream stream of its own; the
  test is skipped locally when PostgreSQL or NATS is down, fails under CI=true).
- ``backing``: what the test's servers share (data dir, database, stream).
- ``start_server``: ``await start_server(**config_overrides) -> Server``, for a
  server with other settings (``enable_registration=False``,
  ``rc_login=RateLimit(0.1, 2)``…) or several servers on one log (scale: two
  "processes" sharing PostgreSQL + NATS). All are stopped at the test's end.
- ``server``: the default server (``Server``: ``base_url``, ``services``,
  ``config``, ``profile``, ``user_id(localpart)``).
- ``client``: a ``Client`` for ``server``: ``await client.register()`` gives a
  ``User`` (``user_id``, ``token``, ``device_id``, ``password``), and
  ``await client.get/post/put/delete(path, json, token=...)`` gives
  ``(status, body)``.
- ``http``: an ``aiohttp.ClientSession``, for a ``Client`` on another server:
  ``Client(http, other.base_url)``.

Rate limits are generous by default; tests of rate limiting set their own.
Passwords are hashed with cheap Argon2 parameters (same code path, less CPU).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, suppress
from pathlib import Path

import aiohttp
import nats
import pytest
from nats.aio.client import Client as Nats

from tessera.schema.integrations import default_stream
from tests.e2e.harness import Backing, Client, Server, ServerFactory, scale_names
from tests.services import NATS_URL, POSTGRES_URL, postgres_schema, require


@pytest.fixture(params=["embedded", "scale"])
def profile(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def _schema(profile: str) -> Iterator[str | None]:
    if profile != "scale":
        yield None
        return
    require("NATS", "127.0.0.1", 4222)
    with postgres_schema() as schema:
        yield schema


@pytest.fixture
async def backing(profile: str, _schema: str | None, tmp_path: Path) -> AsyncIterator[Backing]:
    if profile == "embedded":
        yield Backing("embedded", tmp_path / "data")
        return
    stream, root = scale_names()
    yield Backing(
        "scale",
        tmp_path / "data",
        database=f"{POSTGRES_URL}?schema={_schema}",
        nats=NATS_URL,
        nats_stream=stream,
        nats_subject_root=root,
    )
    nc = await nats.connect(NATS_URL)
    try:
        js = nc.jetstream()
        with suppress(nats.js.errors.NotFoundError):
            await js.delete_stream(stream)
        with suppress(nats.js.errors.NotFoundError):  # the integrations role's
            await js.delete_stream(default_stream(root))
    finally:
        await nc.close()


@pytest.fixture
async def start_server(backing: Backing) -> AsyncIterator[ServerFactory]:
    async with AsyncExitStack() as stack:
        yield ServerFactory(backing, stack)


@pytest.fixture
async def server(start_server: ServerFactory) -> Server:
    return await start_server()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def client(http: aiohttp.ClientSession, server: Server) -> Client:
    return Client(http, server.base_url)


@pytest.fixture
async def nc() -> AsyncIterator[Nats]:
    """A plain NATS connection, as an integration (a bot, a bridge) opens one."""
    connection = await nats.connect(NATS_URL)
    try:
        yield connection
    finally:
        await connection.drain()
