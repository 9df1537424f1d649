"""The read-model database contract shared by projections (writers) and queries (readers).

SQL is written once, with ``?`` placeholders and the subset of SQL that SQLite
and PostgreSQL share (``INSERT … ON CONFLICT … DO UPDATE``, ``BIGINT``, ``TEXT``).
The few differences live in the adapter (``tessera.app.readdb``): placeholder
style, the binary column type (write ``BLOB`` here) and how a table is emptied.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
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


Release = Callable[[], None]


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

    def workers_lock(self, *, exclusive: bool, wait: bool) -> Release | None:
        """The projection workers' lock on these read models, across processes:
        every running worker holds it shared, ``tessera replay`` exclusive (a
        replay beside a running worker would see its tracking position move past
        what is still being rebuilt). Returns how to release it, or None when
        ``wait`` is false and another holder's mode conflicts."""
        ...

    def close(self) -> None: ...
