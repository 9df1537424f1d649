"""The event store adapter: one log on SQLite or PostgreSQL, through `eventsourcing`.

Records are eventsourcing ``StoredEvent`` rows used directly (no aggregate
transcoder), so payloads stay opaque bytes (DESIGN invariant 7). The recorder's
primary key ``(originator_id, originator_version)`` is the per-stream version
constraint; its notification ID is the log position.

Why PostgreSQL appends are serialized: every insert takes ``LOCK TABLE … IN
EXCLUSIVE MODE`` (as eventsourcing's recorder does) so that notification IDs
become visible in order: a reader tailing the log after position N can never
later find a row below N committed by a slower transaction. The lock makes each
transaction a bottleneck, which is why the command side group-commits many
streams per call.

One round trip per append on PostgreSQL: eventsourcing's recorder sends the
lock, a ``NOTIFY`` (for its LISTEN-based subscriptions, which Tessera does not
use: the relay hears commits on the bus) and the insert as a pipelined
transaction, four statements and two syncs; ``LogRecorder`` sends one call of
a server-side function that takes the lock and inserts, in an autocommit
transaction of its own. Its table, type and reads are eventsourcing's.

All methods block; the asyncio side calls them through a thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from eventsourcing.persistence import ApplicationRecorder, IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore
from psycopg.sql import SQL, Identifier

from tessera.schema.log import EventStore, LogRecord, NewRecord, VersionConflict

__all__ = ["EventStore", "RecorderEventStore", "open_postgres", "open_sqlite"]

TABLE = "tessera_log"
#: The advisory lock key creators of the log's tables take ("tessera" and 2).
LOG_CREATE_LOCK = 0x7465737365726102


class RecorderEventStore:
    """An EventStore over an eventsourcing ApplicationRecorder."""

    def __init__(self, recorder: ApplicationRecorder, closer: object) -> None:
        self._recorder = recorder
        self._closer = closer

    def append(self, records: Sequence[NewRecord]) -> list[int]:
        stored = [StoredEvent(r.stream, r.version, r.kind, r.payload) for r in records]
        try:
            ids = self._recorder.insert_events(stored)
        except IntegrityError:
            raise VersionConflict(sorted({r.stream for r in records})) from None
        if ids is None or len(ids) != len(records):  # pragma: no cover - recorder contract
            raise RuntimeError("the recorder did not return notification IDs")
        return list(ids)

    def load(self, stream: str, after_version: int = 0) -> list[LogRecord]:
        events = self._recorder.select_events(stream, gt=after_version or None)
        # Positions of a stream's records are not needed to rebuild it.
        return [
            LogRecord(0, str(e.originator_id), e.originator_version, e.topic, e.state)
            for e in events
        ]

    def read(self, after: int, limit: int) -> list[LogRecord]:
        notes = self._recorder.select_notifications(
            start=after, limit=limit, inclusive_of_start=False
        )
        return [
            LogRecord(n.id, str(n.originator_id), n.originator_version, n.topic, n.state)
            for n in notes
        ]

    def head(self) -> int:
        return self._recorder.max_notification_id() or 0

    def close(self) -> None:
        close = getattr(self._closer, "close", None)
        if callable(close):
            close()


class LogRecorder(PostgresApplicationRecorder):
    """eventsourcing's PostgreSQL recorder, appending in one round trip."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = TABLE) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        schema = Identifier(datastore.schema)
        function = Identifier(f"{events_table_name}_append")
        # After the composite type's CREATE TYPE, which the base class listed first.
        self.sql_create_statements.append(
            SQL(
                "CREATE OR REPLACE FUNCTION {schema}.{function}(events {schema}.{event}[])"
                " RETURNS SETOF bigint LANGUAGE plpgsql AS $body$ BEGIN"
                " LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE;"
                " RETURN QUERY INSERT INTO {schema}.{table}"
                " (originator_id, originator_version, topic, state)"
                " SELECT originator_id, originator_version, topic, state FROM unnest(events)"
                " RETURNING notification_id;"
                " END; $body$"
            ).format(
                schema=schema,
                function=function,
                event=Identifier(self.stored_event_type_name),
                table=Identifier(events_table_name),
            )
        )
        self._append = SQL("SELECT id FROM {schema}.{function}(%s) AS appended(id)").format(
            schema=schema, function=function
        )

    def create_table(self) -> None:
        """Create the type, table, index and functions once, whoever else starts
        now: PostgreSQL's ``IF NOT EXISTS`` (and eventsourcing's ``CREATE TYPE``
        retry) fail on a duplicate catalog key when another process creates the
        same objects at the same moment, so creators take turns on an advisory
        lock."""
        with self.datastore.get_connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (LOG_CREATE_LOCK,))
            try:
                super().create_table()
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (LOG_CREATE_LOCK,))

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> list[int]:
        events = [
            self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
            for e in stored_events
        ]
        with self.datastore.get_connection() as conn, conn.cursor() as cur:
            cur.execute(self._append, (events,), prepare=True)
            # IDs come from one sequence in the order of ``events``.
            return sorted(int(row["id"]) for row in cur.fetchall())


def open_sqlite(path: str) -> RecorderEventStore:
    datastore = SQLiteDatastore(path, originator_id_type="text")
    recorder = SQLiteApplicationRecorder(datastore, events_table_name=TABLE)
    recorder.create_table()
    return RecorderEventStore(recorder, datastore)


def open_postgres(dsn: str, *, schema: str = "", pool_size: int = 5) -> RecorderEventStore:
    """``dsn`` is a ``postgresql://user:password@host:port/dbname`` URL; ``schema``
    a PostgreSQL schema that must exist (default: the search path's first)."""
    url = urlsplit(dsn)
    if url.scheme not in ("postgresql", "postgres"):
        raise ValueError(f"not a PostgreSQL URL: {dsn!r}")
    datastore = PostgresDatastore(
        dbname=unquote(url.path.lstrip("/")) or "postgres",
        host=url.hostname or "127.0.0.1",
        port=url.port or 5432,
        user=unquote(url.username or "postgres"),
        password=unquote(url.password or ""),
        pool_size=pool_size,
        max_overflow=pool_size,
        originator_id_type="text",
        schema=schema,
    )
    recorder = LogRecorder(datastore)
    recorder.create_table()
    return RecorderEventStore(recorder, datastore)
