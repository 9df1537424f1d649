"""The server under test: ``tessera serve`` in a subprocess, on fresh storage.

Embedded: a temporary data directory. Scale: also a fresh PostgreSQL database
(created here, dropped afterwards) and the NATS server at ``--nats``. The
benchmark's configuration lifts the rate limits: the figures measure the server's
throughput, not its limiter.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import nats
import psycopg
import yaml
from nats.js.errors import NotFoundError

POSTGRES_URL = os.environ.get("TESSERA_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
NATS_URL = os.environ.get("TESSERA_BENCH_NATS", "nats://127.0.0.1:4222")
UNLIMITED = {"per_second": 100_000, "burst": 100_000}


@dataclass
class ServerProcess:
    proc: subprocess.Popen[bytes]
    base_url: str
    data_dir: Path
    log_path: Path
    database: str | None = None
    extra_pids: list[int] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def pids(self) -> list[int]:
        """The server's process and every descendant (roles run as child processes)."""
        return [self.pid, *_descendants(self.pid)]

    def rss_mib(self) -> dict[int, float]:
        """Resident memory of each of the server's processes, in MiB."""
        return {pid: rss for pid in self.pids() if (rss := read_rss_mib(pid)) is not None}


def read_rss_mib(pid: int) -> float | None:
    """``VmRSS`` from ``/proc/<pid>/status`` in MiB; None if the process is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            kib = int(line.split()[1])
            return kib / 1024
    return None


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces: split after it.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def create_database(admin_url: str = POSTGRES_URL) -> str:
    """A fresh, empty PostgreSQL database; returns its URL."""
    name = "tessera_bench_" + uuid.uuid4().hex[:10]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return _with_database(admin_url, name)


def drop_database(url: str, admin_url: str = POSTGRES_URL) -> None:
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def delete_stream(name: str, url: str = NATS_URL) -> None:
    nc = await nats.connect(url)
    try:
        with contextlib.suppress(NotFoundError):
            await nc.jetstream().delete_stream(name)
    finally:
        await nc.close()


def serve_command(config_path: Path, port: int, data_dir: Path) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "tessera.app.cli",
        "serve",
        "--config",
        str(config_path),
        "--listen",
        f"127.0.0.1:{port}",
        "--data-dir",
        str(data_dir),
    ]
    return command


def write_config(
    directory: Path,
    profile: str,
    database: str | None,
    nats_stream: str | None = None,
    overrides: dict[str, object] | None = None,
) -> Path:
    values: dict[str, object] = {
        "server_name": "bench.localhost",
        "rc_login": UNLIMITED,
        "rc_registration": UNLIMITED,
        "rc_message": UNLIMITED,
    }
    if profile == "scale":
        values["database"] = database
        values["nats"] = NATS_URL
        if nats_stream is not None:
            # A stream of its own: an old stream's positions would shadow a fresh log's.
            values["nats_stream"] = nats_stream
            values["nats_subject_root"] = nats_stream.lower()
        values["integrations_max_bytes"] = 0  # no JetStream storage reservation
    s3 = os.environ.get("TESSERA_BENCH_S3")  # ENDPOINT,BUCKET,ACCESS_KEY,SECRET_KEY (plain HTTP)
    if profile == "scale" and s3:
        endpoint, bucket, access_key, secret_key = s3.split(",")
        values.update(s3_endpoint=endpoint, s3_bucket=bucket, s3_access_key=access_key,
                      s3_secret_key=secret_key, s3_secure=False)  # fmt: skip
    values.update(overrides or {})
    path = directory / "bench.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


async def _wait_until_up(server: ServerProcess, deadline: float) -> None:
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                raise RuntimeError(
                    f"the server exited with {server.proc.returncode}; its log:\n"
                    + server.log_path.read_text(errors="replace")[-4000:]
                )
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with session.get(server.base_url + "/_matrix/client/versions") as r:
                    if r.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise TimeoutError("the server did not answer /versions in time")


def _spawn(command: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.asynccontextmanager
async def running_server(
    profile: str, *, startup_timeout: float = 60, overrides: dict[str, object] | None = None
) -> AsyncIterator[ServerProcess]:
    """Start ``tessera serve`` on fresh storage for ``profile``; stop and clean up after."""
    tmp = Path(tempfile.mkdtemp(prefix="tessera-bench-"))
    database = create_database() if profile == "scale" else None
    stream = f"BENCH_{uuid.uuid4().hex[:10].upper()}" if profile == "scale" else None
    config = write_config(tmp, profile, database, stream, overrides)
    port = free_port()
    log_path = tmp / "server.log"
    proc = _spawn(serve_command(config, port, tmp / "data"), log_path)
    server = ServerProcess(proc, f"http://127.0.0.1:{port}", tmp / "data", log_path, database)
    try:
        await _wait_until_up(server, time.monotonic() + startup_timeout)
        yield server
    finally:
        _stop(proc)
        if database is not None:
            drop_database(database)
        if stream is not None:
            await delete_stream(stream)
            await delete_stream(f"{stream}_EVENTS")  # the integrations role's
        if os.environ.get("TESSERA_BENCH_KEEP"):
            print(f"# kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
