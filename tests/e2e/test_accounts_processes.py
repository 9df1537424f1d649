"""Two server processes on one PostgreSQL + NATS: a logout on one stops the token on the other.

The second server is a real ``tessera serve`` subprocess, so nothing is shared
with the first but the database and the bus.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.harness import Backing, Client, ServerFactory, wait_until_serving

V3 = "/_matrix/client/v3"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def second_process(backing: Backing, tmp_path: Path) -> AsyncIterator[str]:
    """A ``tessera serve`` subprocess on the same log; its base URL."""
    assert backing.database and backing.nats
    port = free_port()
    command = [
        sys.executable, "-m", "tessera.app.cli", "serve",
        "--server-name", "localhost:8008",
        "--listen", f"127.0.0.1:{port}",
        "--data-dir", str(backing.data_dir),
        "--database", backing.database,
        "--nats", backing.nats,
        "--roles", "api,sync,projections,relay",
    ]  # fmt: skip
    config = tmp_path / "second.yaml"
    config.write_text(
        f"nats_stream: {backing.nats_stream}\nnats_subject_root: {backing.nats_subject_root}\n"
    )
    log_path = tmp_path / "second.log"
    log = log_path.open("wb")
    process = await asyncio.create_subprocess_exec(
        *command, "--config", str(config), stdout=log, stderr=subprocess.STDOUT, env=os.environ
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        await wait_until_serving(base_url, process, log_path, 20)
        yield base_url
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                async with asyncio.timeout(10):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()
        log.close()


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> float:
    """Seconds until ``await check()`` is true; fails after ``within`` seconds."""
    start = time.monotonic()
    while True:
        if await check():
            return time.monotonic() - start
        if time.monotonic() - start > within:
            pytest.fail(f"not true within {within} s")
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("profile", ["scale"])
async def test_logout_on_one_process_stops_the_token_on_another(
    start_server: ServerFactory, second_process: str, http: aiohttp.ClientSession
) -> None:
    first = Client(http, (await start_server()).base_url)
    second = Client(http, second_process)
    alice = await first.register("alice")
    other = await first.login(alice.user_id)

    async def works_on_second(token: str) -> bool:
        status, _ = await second.get(V3 + "/account/whoami", token)
        return status == 200

    async def refused_on_second(token: str) -> bool:
        status, body = await second.get(V3 + "/account/whoami", token)
        return status == 401 and body["errcode"] == "M_UNKNOWN_TOKEN"

    await eventually(lambda: works_on_second(alice.token))
    await eventually(lambda: works_on_second(other.token))
    # A login on the second process is known to the first one too.
    bob = await second.register("bob")
    await eventually(lambda: _works(first, bob.token))

    assert (await first.post(V3 + "/logout", {}, alice.token))[0] == 200
    await eventually(lambda: refused_on_second(alice.token), within=3.0)
    assert await works_on_second(other.token)  # only that device's token
    assert (await second.post(V3 + "/logout/all", {}, other.token))[0] == 200
    await eventually(lambda: _refused(first, other.token), within=3.0)


async def _works(client: Client, token: str) -> bool:
    return (await client.get(V3 + "/account/whoami", token))[0] == 200


async def _refused(client: Client, token: str) -> bool:
    return (await client.get(V3 + "/account/whoami", token))[0] == 401
