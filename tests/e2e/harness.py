"""The end-to-end harness: real servers on free ports, and a tiny HTTP client.

Tests get these through the fixtures of ``tests/e2e/conftest.py``; this module
holds the machinery so a test can also import the types::

    from tests.e2e.harness import Client, Server, User

    async def test_whoami(server: Server, client: Client) -> None:
        alice = await client.register("alice")            # user + token in one call
        status, body = await client.get("/_matrix/client/v3/account/whoami", token=alice.token)
        assert (status, body["user_id"]) == (200, alice.user_id)

Every request returns ``(status, body)`` with the body decoded from JSON (or
``None`` for an empty body). Paths are relative to the server's base URL.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web

from tessera.app.config import Config, RateLimit, config_from_mapping
from tessera.app.server import build_services, close_services, start_http
from tessera.app.services import Services
from tessera.command.passwords import fast_passwords

#: Rate limits no test trips by accident (tests of rate limiting set their own).
GENEROUS = RateLimit(per_second=1000.0, burst=1000)
PASSWORD = "correct horse battery staple"


@dataclasses.dataclass(frozen=True, slots=True)
class User:
    user_id: str
    token: str
    device_id: str
    password: str = PASSWORD
    #: The whole /register response (refresh_token, expires_in_ms when asked for).
    body: Mapping[str, Any] = dataclasses.field(default_factory=dict)


class Client:
    """``await client.get/post/put/delete(path, json, token=...)`` -> ``(status, body)``."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")

    async def request(
        self,
        method: str,
        path: str,
        json: Any = None,
        token: str | None = None,
        *,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> tuple[int, Any]:
        """One request; ``data`` sends raw bytes instead of ``json``."""
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        body = data if data is not None else (None if json is None else orjson.dumps(json))
        if body is not None:
            all_headers.setdefault("Content-Type", "application/json")
        async with self.session.request(
            method, self.base_url + path, data=body, headers=all_headers, params=params
        ) as response:
            raw = await response.read()
            return response.status, orjson.loads(raw) if raw else None

    async def get(self, path: str, token: str | None = None, **kw: Any) -> tuple[int, Any]:
        return await self.request("GET", path, None, token, **kw)

    async def post(
        self, path: str, json: Any = None, token: str | None = None, **kw: Any
    ) -> tuple[int, Any]:
        return await self.request("POST", path, {} if json is None else json, token, **kw)

    async def put(
        self, path: str, json: Any = None, token: str | None = None, **kw: Any
    ) -> tuple[int, Any]:
        return await self.request("PUT", path, {} if json is None else json, token, **kw)

    async def delete(
        self, path: str, json: Any = None, token: str | None = None, **kw: Any
    ) -> tuple[int, Any]:
        return await self.request("DELETE", path, json, token, **kw)

    async def register(
        self, username: str | None = None, password: str = PASSWORD, **extra: Any
    ) -> User:
        """Register ``username`` (default: a fresh unique name) with m.login.dummy
        and return the logged-in user; ``extra`` goes into the request body
        (``device_id``, ``refresh_token``…). Fails the test on any error."""
        username = username or "u" + secrets.token_hex(5)
        body = {"username": username, "password": password, "auth": {"type": "m.login.dummy"}}
        status, answer = await self.post("/_matrix/client/v3/register", {**body, **extra})
        assert status == 200, f"register {username}: {status} {answer}"
        return _user(answer, password)

    async def login(self, user_id: str, password: str = PASSWORD, **extra: Any) -> User:
        body = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user_id},
            "password": password,
        }
        status, answer = await self.post("/_matrix/client/v3/login", {**body, **extra})
        assert status == 200, f"login {user_id}: {status} {answer}"
        return _user(answer, password)


def _user(answer: dict[str, Any], password: str) -> User:
    return User(answer["user_id"], answer["access_token"], answer["device_id"], password, answer)


@dataclasses.dataclass(slots=True)
class Server:
    """A running server: its base URL, its in-process services and its config."""

    base_url: str
    services: Services
    config: Config
    profile: str

    @property
    def server_name(self) -> str:
        return self.config.server_name

    def user_id(self, localpart: str) -> str:
        return f"@{localpart}:{self.config.server_name}"


@dataclasses.dataclass(frozen=True, slots=True)
class Backing:
    """What the servers of one test share: data directory, and for the scale
    profile a PostgreSQL schema and a JetStream stream of their own."""

    profile: str
    data_dir: Path
    database: str | None = None
    nats: str | None = None
    nats_stream: str = "TESSERA_LOG"
    nats_subject_root: str = "tessera"

    def config(self, **overrides: Any) -> Config:
        values: dict[str, Any] = {
            "server_name": "localhost:8008",
            "listen": "127.0.0.1:0",
            "data_dir": str(self.data_dir),
            "database": self.database,
            "nats": self.nats,
            "nats_stream": self.nats_stream,
            "nats_subject_root": self.nats_subject_root,
            # A size limit makes JetStream reserve that much storage per stream: test
            # servers keep theirs unlimited so leftovers can't exhaust the reservation.
            "integrations_max_bytes": 0,
            "rc_login": GENEROUS,
            "rc_registration": GENEROUS,
            "rc_message": GENEROUS,
        }
        values.update(overrides)
        return config_from_mapping(values)


def scale_names() -> tuple[str, str]:
    """A JetStream stream name and subject root no other test uses."""
    tag = uuid.uuid4().hex[:12]
    return f"T_{tag}", f"t{tag}"


@asynccontextmanager
async def running_server(backing: Backing, **overrides: Any) -> AsyncIterator[Server]:
    """A server (all roles, one process) on a free port, stopped afterwards."""
    config = backing.config(**overrides)
    services = await build_services(config, passwords=fast_passwords())
    runner: web.AppRunner | None = None
    try:
        runner, port = await start_http(services)
        yield Server(f"http://127.0.0.1:{port}", services, config, backing.profile)
    finally:
        if runner is not None:
            await runner.cleanup()
        await close_services(services)


class ServerFactory:
    """Starts servers on one backing; all are stopped when the test ends."""

    def __init__(self, backing: Backing, stack: AsyncExitStack) -> None:
        self.backing = backing
        self._stack = stack

    async def __call__(self, **overrides: Any) -> Server:
        return await self._stack.enter_async_context(running_server(self.backing, **overrides))


async def wait_until_serving(
    base_url: str, process: asyncio.subprocess.Process, log_path: Path, seconds: float
) -> None:
    """Return once a ``tessera serve`` subprocess answers ``/versions``; fail the
    test with its log if it exits or does not answer within ``seconds``."""
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(base_url + "/_matrix/client/versions") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if process.returncode is not None or time.monotonic() > deadline:
                log = await asyncio.to_thread(log_path.read_text)
                pytest.fail(f"tessera serve did not start at {base_url}:\n{log}")
            await asyncio.sleep(0.1)
