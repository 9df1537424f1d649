"""The log's record types: what the command side appends and every reader sees.

The event store is one log with a total order (``position``) over many streams
(a stream per room, per account, …). Each stream is versioned from 1, and the
store refuses a record whose ``(stream, version)`` already exists: that is the
one-writer-per-stream guarantee across processes (DESIGN invariant 2).

``payload`` is opaque bytes: for PDUs, their canonical JSON exactly as signed
(invariant 7). No serializer in the store or on the bus ever interprets it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Protocol


@dataclasses.dataclass(frozen=True, slots=True)
class NewRecord:
    #: The stream (aggregate) the record belongs to: a room ID, ``@user:server``…
    stream: str
    #: The record's place in its stream, counting from 1, without gaps.
    version: int
    #: What the payload is (``m.pdu``, ``account.registered``, …); readers dispatch on it.
    kind: str
    #: Opaque bytes, usually canonical JSON.
    payload: bytes


@dataclasses.dataclass(frozen=True, slots=True)
class LogRecord:
    """A committed record with its position in the log's total order."""

    position: int
    stream: str
    version: int
    kind: str
    payload: bytes


class VersionConflict(Exception):
    """Another writer appended to the stream first; reload it and retry."""

    def __init__(self, streams: list[str]) -> None:
        super().__init__(f"version conflict on {', '.join(streams)}")
        self.streams = streams


class EventStore(Protocol):
    """The log, as the command side and the projections see it (adapters: tessera.app)."""

    def append(self, records: Sequence[NewRecord]) -> list[int]:
        """Commit ``records`` in one transaction; their positions, in order.

        Raises VersionConflict, and commits nothing, if any ``(stream, version)``
        already exists.
        """
        ...

    def load(self, stream: str, after_version: int = 0) -> list[LogRecord]:
        """The stream's records after ``after_version``, in version order."""
        ...

    def read(self, after: int, limit: int) -> list[LogRecord]:
        """Up to ``limit`` records of the whole log after position ``after``."""
        ...

    def head(self) -> int:
        """The position of the last committed record (0 for an empty log)."""
        ...

    def close(self) -> None: ...
