"""Read-model database adapters: SQLite (embedded) and PostgreSQL (scale).

This module is the one place that knows the dialects apart (DESIGN: "keep the
dialect differences in one small adapter module").
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import psycopg
import psycopg_pool

from tessera.schema.readmodel import LeaseLost, Params

_QMARK = re.compile(r"\?")

#: The advisory lock key read-model migrations take on PostgreSQL ("tessera" and 1).
MIGRATION_LOCK = 0x7465737365726101


def workers_lock_key(schema: str) -> int:
    """The PostgreSQL advisory lock key of the workers' lock on one schema's read models."""
    digest = hashlib.blake2b(f"tessera workers {schema or 'public'}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


class SQLiteTransaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, statement: str, params: Params = ()) -> None:
        self._conn.execute(statement, tuple(params))

    def executemany(self, statement: str, params: Sequence[Params]) -> None:
        self._conn.executemany(statement, [tuple(p) for p in params])

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

    def migration(self) -> AbstractContextManager[SQLiteTransaction]:
        """The write lock already serializes creators."""
        return self.transaction()

    @contextmanager
    def pinned(self) -> Iterator[None]:
        """Reads already use one connection per thread."""
        yield

    def workers_lock(self, *, exclusive: bool) -> FileLease | None:
        """``flock`` on a file beside the database (released by the OS if the
        process dies). An in-memory database has no other process to fear."""
        if self._path == ":memory:":
            return FileLease(None)
        fd = os.open(self._path + ".workers.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        return FileLease(fd)

    def close(self) -> None:
        for conn in self._all:
            conn.close()
        self._all.clear()


class FileLease:
    """An ``flock`` held through an open file: it cannot be lost while open."""

    def __init__(self, fd: int | None) -> None:
        self._fd = fd

    def check(self) -> None:
        return None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class AdvisoryLease:
    """A session advisory lock, held as long as its connection lives."""

    def __init__(self, conn: psycopg.Connection[Any], key: int) -> None:
        self._conn = conn
        self._key = key
        #: The server process holding it (what an operator sees in ``pg_locks``).
        self.backend_pid = conn.info.backend_pid

    def check(self) -> None:
        try:
            row = self._conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                " AND pid = pg_backend_pid() AND granted"
                " AND ((classid::bigint << 32) | objid::bigint) = %s",
                (self._key,),
            ).fetchone()
        except psycopg.Error as e:
            raise LeaseLost(f"the workers lock's connection failed: {e}") from e
        if not row or not row[0]:
            raise LeaseLost("the workers lock is no longer held")

    def release(self) -> None:
        self._conn.close()


def _pg(statement: str) -> str:
    return _QMARK.sub("%s", statement.replace("BLOB", "BYTEA"))


class PostgresTransaction:
    """Statements of a pipelined transaction (``PostgresReadModels.transaction``).

    Writes share one cursor; each read gets a cursor of its own. In pipeline
    mode a result is handed to the cursor that sent the statement whenever it
    arrives, possibly after that cursor sent another one: a read on the writes'
    cursor could be answered with an earlier statement's result.
    """

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn
        self._writes = conn.cursor()

    def execute(self, statement: str, params: Params = ()) -> None:
        self._writes.execute(_pg(statement), tuple(params))

    def executemany(self, statement: str, params: Sequence[Params]) -> None:
        self._writes.executemany(_pg(statement), [tuple(p) for p in params])

    def fetchall(self, statement: str, params: Params = ()) -> list[tuple[Any, ...]]:
        with self._conn.cursor() as cur:
            cur.execute(_pg(statement), tuple(params))
            return [tuple(_bytes(v) for v in row) for row in cur.fetchall()]

    def fetchone(self, statement: str, params: Params = ()) -> tuple[Any, ...] | None:
        with self._conn.cursor() as cur:
            cur.execute(_pg(statement), tuple(params))
            row = cur.fetchone()
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
        self._dsn = dsn
        self._workers_key = workers_lock_key(schema)
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
        with self._pool.connection() as conn, conn.pipeline(), conn.transaction():
            yield PostgresTransaction(conn)

    @contextmanager
    def migration(self) -> Iterator[PostgresTransaction]:
        """A transaction for ``CREATE … IF NOT EXISTS``: PostgreSQL's ``IF NOT
        EXISTS`` fails (a duplicate key in its catalog) when another process
        creates the same table at the same moment, as processes starting
        together do; a database-wide advisory lock makes them take turns."""
        with self.transaction() as tx:
            tx.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
            yield tx

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

    def workers_lock(self, *, exclusive: bool) -> AdvisoryLease | None:
        """A session advisory lock on a connection of its own (released by the
        server when the connection ends; TCP keepalives and a user timeout notice
        a dead peer, so a ``check`` never hangs a worker's stop for long), keyed by
        the schema: read models in another schema are not these."""
        conn = psycopg.connect(
            self._dsn,
            autocommit=True,
            connect_timeout=10,
            keepalives=1,
            keepalives_idle=30,
            keepalives_interval=10,
            tcp_user_timeout=30_000,
        )
        function = "pg_try_advisory_lock" if exclusive else "pg_try_advisory_lock_shared"
        try:
            row = conn.execute(f"SELECT {function}(%s)", (self._workers_key,)).fetchone()
        except BaseException:
            conn.close()
            raise
        if not (row and row[0]):
            conn.close()
            return None
        return AdvisoryLease(conn, self._workers_key)

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
