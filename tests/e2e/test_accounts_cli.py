"""``tessera register-user`` creates an account a running server logs in."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
import yaml

from tessera.projections import relay
from tests.e2e.harness import Backing, Client, ServerFactory

V3 = "/_matrix/client/v3"


async def tessera(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tessera.app.cli", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await process.communicate()
    return process.returncode or 0, out.decode()


def config_file(backing: Backing, tmp_path: Path) -> str:
    path = tmp_path / "tessera.yaml"
    config = backing.config()
    values = {
        "server_name": config.server_name,
        "data_dir": str(config.data_dir),
        "database": config.database,
        "nats": config.nats,
        "nats_stream": config.nats_stream,
        "nats_subject_root": config.nats_subject_root,
    }
    path.write_text(yaml.safe_dump({k: v for k, v in values.items() if v is not None}))
    return str(path)


async def test_register_user_then_log_in(
    backing: Backing, start_server: ServerFactory, http: object, tmp_path: Path
) -> None:
    config = config_file(backing, tmp_path)
    code, out = await tessera(
        "register-user", "root", "--password", "pw", "--admin", "--config", config
    )
    assert code == 0, out
    assert "registered @root:localhost:8008 (admin)" in out
    code, out = await tessera("register-user", "root", "--password", "pw", "--config", config)
    assert code == 1 and "already taken" in out
    code, out = await tessera("register-user", "Bad Name", "--password", "pw", "--config", config)
    assert code == 1

    server = await start_server()
    client = Client(http, server.base_url)  # type: ignore[arg-type]
    root = await client.login("@root:localhost:8008", "pw")
    requester = server.services.authenticator.authenticate(root.token)
    assert requester is not None and requester.is_admin
    plain = await client.register("plain")
    requester = server.services.authenticator.authenticate(plain.token)
    assert requester is not None and not requester.is_admin


async def test_register_user_beside_a_running_server(
    backing: Backing,
    start_server: ServerFactory,
    http: object,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The command appends to the log from a process of its own, and applies it
    with projections of its own; nothing tells the running server (embedded: its
    bus is in-process). Its next request waits at the read barrier and, after a
    moment, re-reads the tracking table and finds the account applied; it does
    not wait for the relay's fallback read (60 s here) or the barrier's timeout."""
    monkeypatch.setattr(relay, "FALLBACK_INTERVAL", 60.0)
    server = await start_server()
    client = Client(http, server.base_url)  # type: ignore[arg-type]
    code, out = await tessera(
        "register-user", "late", "--password", "pw", "--config", config_file(backing, tmp_path)
    )
    assert code == 0, out
    late = await asyncio.wait_for(client.login("@late:localhost:8008", "pw"), 5)
    assert server.services.authenticator.authenticate(late.token) is not None
