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
