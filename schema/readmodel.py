"""The read-model database contract shared by projections (writers) and queries (readers).

SQL is written once, with ``?`` placeholders and the subset of SQL that SQLite
and PostgreSQL share (``INSERT … ON CONFLICT … DO UPDATE``, ``BIGINT``, ``TEXT``).
The few differences live in the adapter (``tessera.app.readdb``): placeholder
style, the binary column type (write ``BLOB`` here) and how a table is emptied.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

Params = Sequence[Any]


@dataclasses.dataclass(frozen=True, slots=True)
class Change:
    """One write to a read model: a statement of the projection's module and its values."""

    statement: str
    params: Params = ()


class Transaction(Protocol):
    def execute(self, statement: str, params: Params = ()) -> None: ...

    def executemany(self, statement: str, params: Sequence[Params]) -> None: ...

    def fetchall(self, statement: str, params: Params = ()) -> list[tuple[Any, ...]]: ...

    def fetchone(self, statement: str, params: Params = ()) -> tuple[Any, ...] | None: ...


class Lease(Protocol):
    """A held workers lock (``ReadModelDatabase.workers_lock``)."""

    def check(self) -> None:
        """Raise ``LeaseLost`` if the lock is no longer held (on PostgreSQL it
        lives as long as its connection, which the server or network may end)."""
        ...

    def release(self) -> None: ...


class LeaseLost(RuntimeError):
    pass


class ReadModelDatabase(Protocol):
    dialect: str

    def transaction(self) -> AbstractContextManager[Transaction]:
        """A transaction that commits when the block ends without an exception."""
        ...

    def iter_rows(self, statement: str, params: Params = ()) -> Iterator[tuple[Any, ...]]:
        """Rows of a query, outside any write transaction."""
        ...

    def migration(self) -> AbstractContextManager[Transaction]:
        """A transaction for ``CREATE TABLE/INDEX IF NOT EXISTS`` statements,
        safe against another process running the same ones at the same time."""
        ...

    def pinned(self) -> AbstractContextManager[None]:
        """Within the block, the calling thread's ``iter_rows`` share one
        connection (a query path of many reads, such as a sync, takes it from
        the pool once)."""
        ...

    def workers_lock(self, *, exclusive: bool) -> Lease | None:
        """The projection workers' lock on these read models, across processes:
        every running worker holds it shared, ``tessera replay`` exclusive (a
        replay beside a running worker would see its tracking position move past
        what is still being rebuilt). None, at once, when another holder's mode
        conflicts (a caller that must wait polls: no thread blocks on it)."""
        ...

    def close(self) -> None: ...
