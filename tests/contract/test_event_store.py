"""The event store contract, on both profiles."""

from __future__ import annotations

import threading

import pytest

from tessera.app.eventstore import EventStore
from tessera.schema.log import NewRecord, VersionConflict


def rec(stream: str, version: int, payload: bytes = b"{}") -> NewRecord:
    return NewRecord(stream, version, "m.pdu", payload)


def test_append_returns_increasing_positions_and_reads_back(event_store: EventStore) -> None:
    assert event_store.head() == 0
    first = event_store.append([rec("!a", 1, b'{"n":1}'), rec("!b", 1)])
    second = event_store.append([rec("!a", 2, b'{"n":2}')])
    assert first[0] < first[1] < second[0]
    assert event_store.head() == second[0]
    assert [(r.stream, r.version, r.payload) for r in event_store.load("!a")] == [
        ("!a", 1, b'{"n":1}'),
        ("!a", 2, b'{"n":2}'),
    ]
    assert [r.version for r in event_store.load("!a", after_version=1)] == [2]
    log = event_store.read(after=0, limit=10)
    assert [r.position for r in log] == [*first, *second]
    assert [r.stream for r in event_store.read(after=first[0], limit=1)] == ["!b"]


def test_payload_bytes_are_kept_exactly(event_store: EventStore) -> None:
    # A PDU is stored as the opaque canonical JSON it was signed as (invariant 7),
    # even when it looks like one of a serializer's own envelopes.
    payload = '{"_data_":{"x":1},"_type_":"decimal_str","body":"ünï"}'.encode()
    event_store.append([rec("!a", 1, payload)])
    assert event_store.load("!a")[0].payload == payload
    assert event_store.read(0, 1)[0].payload == payload


def test_a_conflicting_version_commits_nothing(event_store: EventStore) -> None:
    event_store.append([rec("!a", 1)])
    with pytest.raises(VersionConflict) as info:
        event_store.append([rec("!b", 1), rec("!a", 1)])
    assert "!a" in info.value.streams
    assert event_store.load("!b") == []
    assert len(event_store.read(0, 10)) == 1


def test_concurrent_writers_to_one_stream_never_both_win(event_store: EventStore) -> None:
    # One writer per room (invariant 2): of many writers racing for the same
    # versions, exactly one wins each version and nothing is duplicated.
    wins: list[int] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        for version in range(1, 21):
            try:
                event_store.append([rec("!race", version, str(n).encode())])
            except VersionConflict:
                continue
            with lock:
                wins.append(version)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == list(range(1, 21))
    assert [r.version for r in event_store.load("!race")] == list(range(1, 21))


def test_postgres_appends_wait_for_the_table_lock_so_positions_commit_in_order() -> None:
    # Positions must become visible in order: a reader past position N never
    # finds a row below N committed later. On PostgreSQL an append takes the
    # log's EXCLUSIVE table lock, so it waits for any transaction that holds a
    # conflicting lock (here ROW EXCLUSIVE, what a plain INSERT takes).
    import psycopg

    from tessera.app.eventstore import TABLE, open_postgres
    from tests.services import POSTGRES_URL, postgres_schema

    with postgres_schema() as schema:
        store = open_postgres(POSTGRES_URL, schema=schema)
        try:
            with psycopg.connect(POSTGRES_URL) as other:
                other.execute(f'LOCK TABLE "{schema}".{TABLE} IN ROW EXCLUSIVE MODE')
                done = threading.Event()
                appender = threading.Thread(
                    target=lambda: (store.append([rec("!a", 1)]), done.set())
                )
                appender.start()
                assert not done.wait(0.5), "the append did not wait for the table lock"
                other.commit()
                assert done.wait(10)
                appender.join()
            assert [r.stream for r in store.read(0, 10)] == ["!a"]
        finally:
            store.close()


def test_postgres_processes_starting_together_create_the_log_once() -> None:
    # PostgreSQL's IF NOT EXISTS is not safe against a concurrent creator: the
    # openers take turns on an advisory lock (several roles start at once).
    from tessera.app.eventstore import open_postgres
    from tests.services import POSTGRES_URL, errors_of_starting_together

    def open_once(schema: str) -> None:
        open_postgres(POSTGRES_URL, schema=schema).close()

    assert errors_of_starting_together(open_once) == []
