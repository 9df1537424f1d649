"""Read-model database adapters: SQLite (embedded) and PostgreSQL (scale).

This module is the one place that knows the dialects apart (DESIGN: "keep the
dialect differences in one small adapter module").
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import psycopg_pool

from tessera.schema.readmodel import Params

_QMARK = re.compile(r"\?")


class SQLiteTransaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, statement: str, params: Params = ()) -> None:
        self._conn.execute(statement, tuple(params))

    def fetchall(self, statement: str, params: Params = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(statement, tuple(params)).fetchall()

    def fetchone(self, statement: str, params: Params = ()) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._conn.execute(statement, tuple(params)).fetchone()
        return row


class SQLiteReadModels:
    """One SQLite file; writes serialized by a lock, reads on per-thread connections."""

    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        self._path = path
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        with self._connection() as conn:
            conn.execute("PRAGMA journal_mode=WAL")

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=10000")
            self._local.conn = conn
            self._all.append(conn)
        yield conn

    @contextmanager
    def transaction(self) -> Iterator[SQLiteTransaction]:
        with self._write_lock, self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield SQLiteTransaction(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def iter_rows(self, statement: str, params: Params = ()) -> Iterator[tuple[Any, ...]]:
        with self._connection() as conn:
            yield from conn.execute(statement, tuple(params))

    @contextmanager
    def pinned(self) -> Iterator[None]:
        """Reads already use one connection per thread."""
        yield

    def close(self) -> None:
        for conn in self._all:
            conn.close()
        self._all.clear()


def _pg(statement: str) -> str:
    return _QMARK.sub("%s", statement.replace("BLOB", "BYTEA"))


class PostgresTransaction:
    def __init__(self, cur: psycopg.Cursor[Any]) -> None:
        self._cur = cur

    def execute(self, statement: str, params: Params = ()) -> None:
        self._cur.execute(_pg(statement), tuple(params))

    def fetchall(self, statement: str, params: Params = ()) -> list[tuple[Any, ...]]:
        self._cur.execute(_pg(statement), tuple(params))
        return [tuple(_bytes(v) for v in row) for row in self._cur.fetchall()]

    def fetchone(self, statement: str, params: Params = ()) -> tuple[Any, ...] | None:
        self._cur.execute(_pg(statement), tuple(params))
        row = self._cur.fetchone()
        return None if row is None else tuple(_bytes(v) for v in row)


def _bytes(value: Any) -> Any:
    return bytes(value) if isinstance(value, memoryview) else value


class PostgresReadModels:
    dialect = "postgresql"

    def __init__(self, dsn: str, *, schema: str = "", pool_size: int = 8) -> None:
        # Read models commit without waiting for their WAL flush (as SQLite's
        # ``synchronous=NORMAL`` does in the embedded profile): a commit is
        # visible at once, and what a crash of PostgreSQL loses is the last
        # batches *with* their tracking positions, which the workers apply again
        # from the log. The log itself commits synchronously.
        options = "-c synchronous_commit=off"
        if schema:
            options += f" -c search_path={schema}"
        # Autocommit: a read outside ``transaction()`` is one round trip (without
        # it psycopg opens a transaction with a BEGIN of its own and the pool
        # commits it when the connection comes back: three round trips a query).
        self._pool = psycopg_pool.ConnectionPool(
            dsn,
            min_size=1,
            max_size=pool_size,
            kwargs={"options": options, "autocommit": True},
            open=True,
        )
        self._local = threading.local()

    @contextmanager
    def transaction(self) -> Iterator[PostgresTransaction]:
        # Pipeline mode: statements whose results nobody reads (the inserts and
        # updates of a projection batch, BEGIN, COMMIT) go out without waiting
        # for each answer; reading a result waits for everything before it.
        with (
            self._pool.connection() as conn,
            conn.pipeline(),
            conn.transaction(),
            conn.cursor() as cur,
        ):
            yield PostgresTransaction(cur)

    @contextmanager
    def pinned(self) -> Iterator[None]:
        """This thread's reads in the block share one pooled connection."""
        if getattr(self._local, "conn", None) is not None:
            yield
            return
        with self._pool.connection() as conn:
            self._local.conn = conn
            try:
                yield
            finally:
                self._local.conn = None

    def iter_rows(self, statement: str, params: Params = ()) -> Iterator[tuple[Any, ...]]:
        pinned: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        with (
            (
                contextlib.nullcontext(pinned) if pinned is not None else self._pool.connection()
            ) as conn,
            conn.cursor() as cur,
        ):
            cur.execute(_pg(statement), tuple(params))
            for row in cur:
                yield tuple(_bytes(v) for v in row)

    def close(self) -> None:
        self._pool.close()
