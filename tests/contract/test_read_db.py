"""The read-model database adapter, on both profiles."""

from __future__ import annotations

import threading

import psycopg
import pytest

from tessera.app.readdb import AdvisoryLease
from tessera.schema.readmodel import LeaseLost, ReadModelDatabase
from tests.services import POSTGRES_URL


def _setup(db: ReadModelDatabase) -> None:
    with db.transaction() as tx:
        tx.execute("CREATE TABLE IF NOT EXISTS items (n BIGINT PRIMARY KEY, body BLOB)")
        for n in range(3):
            tx.execute("INSERT INTO items (n, body) VALUES (?, ?)", (n, b"\x00\xff"))


def test_reads_see_committed_writes_and_bytes_come_back_as_bytes(
    read_db: ReadModelDatabase,
) -> None:
    _setup(read_db)
    assert list(read_db.iter_rows("SELECT n, body FROM items ORDER BY n")) == [
        (0, b"\x00\xff"),
        (1, b"\x00\xff"),
        (2, b"\x00\xff"),
    ]


def test_a_failed_transaction_leaves_nothing(read_db: ReadModelDatabase) -> None:
    _setup(read_db)
    try:
        with read_db.transaction() as tx:
            tx.execute("INSERT INTO items (n, body) VALUES (?, ?)", (10, b""))
            tx.execute("INSERT INTO items (n, body) VALUES (?, ?)", (0, b""))  # duplicate key
    except Exception:
        pass
    else:
        raise AssertionError("the duplicate key was accepted")
    assert [n for (n,) in read_db.iter_rows("SELECT n FROM items ORDER BY n")] == [0, 1, 2]


def test_pinned_reads_share_one_connection_and_see_new_commits(read_db: ReadModelDatabase) -> None:
    _setup(read_db)
    backend = (
        "SELECT pg_backend_pid()" if read_db.dialect == "postgresql" else "SELECT 1"
    )  # SQLite: one connection per thread anyway
    with read_db.pinned():
        first = list(read_db.iter_rows(backend))
        # Interleaved cursors on the pinned connection.
        outer = read_db.iter_rows("SELECT n FROM items ORDER BY n")
        assert next(outer) == (0,)
        assert list(read_db.iter_rows("SELECT COUNT(*) FROM items")) == [(3,)]
        assert list(read_db.iter_rows(backend)) == first  # while ``outer`` is open
        assert [n for (n,) in outer] == [1, 2]
        # A write committed meanwhile (by a writer thread) is seen by the next read:
        # pinned reads are not one long transaction.
        writer = threading.Thread(target=lambda: _insert(read_db, 7))
        writer.start()
        writer.join()
        assert list(read_db.iter_rows("SELECT COUNT(*) FROM items")) == [(4,)]
        assert list(read_db.iter_rows(backend)) == first
        with read_db.pinned():  # nested: the same connection
            assert list(read_db.iter_rows(backend)) == first


def _insert(db: ReadModelDatabase, n: int) -> None:
    with db.transaction() as tx:
        tx.execute("INSERT INTO items (n, body) VALUES (?, ?)", (n, b""))


def test_a_write_that_fails_at_commit_leaves_nothing_and_the_connection_usable(
    read_db: ReadModelDatabase,
) -> None:
    # On PostgreSQL writes are queued and sent with COMMIT: the error surfaces
    # there, and the whole batch is rolled back.
    _setup(read_db)
    for _ in range(3):  # more than once: the pooled connection must come back clean
        try:
            with read_db.transaction() as tx:
                tx.execute("INSERT INTO items (n, body) VALUES (?, ?)", (20, b"a"))
                tx.execute("UPDATE items SET body = ? WHERE n = ?", (b"changed", 1))
                tx.execute("INSERT INTO items (n, body) VALUES (?, ?)", (2, b"dup"))
        except Exception:
            pass
        else:
            raise AssertionError("the duplicate key was accepted")
    rows = list(read_db.iter_rows("SELECT n, body FROM items ORDER BY n"))
    assert rows == [(0, b"\x00\xff"), (1, b"\x00\xff"), (2, b"\x00\xff")]
    # A read inside a transaction sees the transaction's own earlier writes.
    with read_db.transaction() as tx:
        tx.execute("INSERT INTO items (n, body) VALUES (?, ?)", (30, b"it's; quoted' \\ %s ?"))
        assert tx.fetchone("SELECT body FROM items WHERE n = ?", (30,)) == (
            b"it's; quoted' \\ %s ?",
        )
        assert tx.fetchall("SELECT COUNT(*) FROM items") == [(4,)]
    assert list(read_db.iter_rows("SELECT body FROM items WHERE n = 30")) == [
        (b"it's; quoted' \\ %s ?",)
    ]


def test_text_values_are_quoted_not_interpreted(read_db: ReadModelDatabase) -> None:
    hostile = "x'); DROP TABLE notes; -- ? %s \\' ünï"
    with read_db.transaction() as tx:
        tx.execute("CREATE TABLE IF NOT EXISTS notes (k TEXT PRIMARY KEY, v BIGINT)")
        tx.execute("INSERT INTO notes (k, v) VALUES (?, ?)", (hostile, 2**53 - 1))
    assert list(read_db.iter_rows("SELECT k, v FROM notes")) == [(hostile, 2**53 - 1)]


def test_postgres_processes_starting_together_create_the_read_models_once() -> None:
    from tessera.app.applied import read_tracking
    from tessera.app.readdb import PostgresReadModels
    from tessera.projections.group import ProjectionGroup
    from tessera.projections.registry import all_projections
    from tests.services import POSTGRES_URL, errors_of_starting_together

    def start(schema: str) -> None:
        db = PostgresReadModels(POSTGRES_URL, schema=schema)
        try:
            ProjectionGroup(db, all_projections()).setup()
            read_tracking(db)
        finally:
            db.close()

    assert errors_of_starting_together(start) == []


def test_a_read_gets_its_own_result_after_queued_statements(read_db: ReadModelDatabase) -> None:
    # In PostgreSQL's pipeline mode a statement's result may arrive while a later
    # one is being sent: a read must never be answered with a queued statement's
    # result (this sequence is a migration's: a lock, a CREATE, then a read).
    _setup(read_db)
    lock = "SELECT pg_advisory_xact_lock(?)" if read_db.dialect == "postgresql" else "SELECT ?"
    for _ in range(100):
        with read_db.transaction() as tx:
            tx.execute(lock, (424242,))
            tx.execute("CREATE TABLE IF NOT EXISTS more_items (n BIGINT PRIMARY KEY)")
            assert tx.fetchall("SELECT n, body FROM items WHERE n < ? ORDER BY n", (2,)) == [
                (0, b"\x00\xff"),
                (1, b"\x00\xff"),
            ]
            tx.execute("UPDATE items SET body = body WHERE n = ?", (0,))
            assert tx.fetchone("SELECT COUNT(*) FROM items") == (3,)


def test_the_workers_lock_keeps_replay_and_workers_apart(read_db: ReadModelDatabase) -> None:
    """Workers share it; replay needs it alone; a release lets the other side in.
    (On PostgreSQL each holder is a connection of its own, as two processes are.)"""
    one = read_db.workers_lock(exclusive=False)
    two = read_db.workers_lock(exclusive=False)
    assert one is not None and two is not None, "two workers run side by side"
    one.check()
    assert read_db.workers_lock(exclusive=True) is None, "no replay beside them"
    one.release()
    assert read_db.workers_lock(exclusive=True) is None, "nor beside one"
    two.release()
    replay = read_db.workers_lock(exclusive=True)
    assert replay is not None
    assert read_db.workers_lock(exclusive=False) is None, "no worker during a replay"
    replay.release()
    again = read_db.workers_lock(exclusive=False)
    assert again is not None
    again.release()


def test_a_workers_lock_whose_connection_ended_is_reported_lost(
    read_db: ReadModelDatabase,
) -> None:
    """PostgreSQL holds the lock only as long as its session: a worker checks it
    (``Lease.check``) and starts over when it is gone. SQLite's flock cannot be lost."""
    lease = read_db.workers_lock(exclusive=False)
    assert lease is not None
    if read_db.dialect == "postgresql":
        assert isinstance(lease, AdvisoryLease)
        with psycopg.connect(POSTGRES_URL, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", (lease.backend_pid,))
        with pytest.raises(LeaseLost):
            lease.check()
        assert read_db.workers_lock(exclusive=True) is not None, "nobody holds it any more"
    else:
        lease.check()
    lease.release()
