"""Access to the real services the scale profile uses (PostgreSQL, NATS).

Locally a test that needs a service that is not running is skipped; under
``CI=true`` it fails instead, so CI can never pass by skipping the scale profile.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
import pytest

POSTGRES_URL = os.environ.get("TESSERA_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
NATS_URL = os.environ.get("TESSERA_TEST_NATS", "nats://127.0.0.1:4222")
IN_CI = os.environ.get("CI", "").lower() == "true"


def require(service: str, host: str, port: int) -> None:
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError as e:
        message = f"{service} is not reachable at {host}:{port}: {e}"
        if IN_CI:
            pytest.fail(message + " (CI=true: scale-profile tests must run)")
        pytest.skip(message)


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh, empty PostgreSQL schema, dropped afterwards."""
    require("PostgreSQL", "127.0.0.1", 5432)
    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    try:
        yield name
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {name} CASCADE")


def errors_of_starting_together(
    start: Callable[[str], None], copies: int = 6
) -> list[BaseException]:
    """Run ``start(schema)`` in ``copies`` threads at once on a fresh schema,
    three times; every exception they raised (processes starting together)."""
    errors: list[BaseException] = []

    def run(schema: str) -> None:
        try:
            start(schema)
        except BaseException as e:
            errors.append(e)

    for _ in range(3):
        with postgres_schema() as schema:
            threads = [threading.Thread(target=run, args=(schema,)) for _ in range(copies)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    return errors
