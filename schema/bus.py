"""The bus contract: the log's records on their way to the projections, and the signals around them.

The relay reads the log in notification order and publishes each record as a
``BusRecord``; projection workers consume them; API processes hear the
*signals* (``applied.<projection>``, ``ephemeral``) that say a read model moved
on. Two adapters implement ``Bus``: in-process (embedded profile) and NATS
JetStream (scale profile), in ``tessera.app.bus``.

Delivery guarantees, which every consumer must be written for:

- records arrive in log order, at least once: a consumer may see a record again
  (a redelivery, a second relay), so it skips positions it has applied
  (the projection runner does);
- a consumer may *miss* records (it subscribed late, a bounded stream dropped
  old messages, another copy of the same worker took them): ``previous`` lets it
  notice, and it then reads the missing range from the log itself;
- signals are at-most-once and may be lost (NATS core): whoever waits on one
  needs a fallback that is not a busy poll (a re-read on timeout, a heartbeat).

Wire format on NATS: the body is the record's payload bytes, untouched (DESIGN
invariant 7: no serializer interprets it); the other fields travel as headers,
so a consumer can route a record without parsing its body.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from typing import Protocol

from tessera.schema.log import LogRecord

#: Relative topics of the signals; the NATS adapter prefixes them with its root
#: (``tessera.log.committed``…).
COMMITTED = "log.committed"
APPLIED_PREFIX = "applied."
EPHEMERAL = "ephemeral"

#: Header names of the NATS wire format.
H_MSG_ID = "Nats-Msg-Id"
H_POSITION = "Tessera-Position"
H_PREVIOUS = "Tessera-Previous"
H_STREAM = "Tessera-Stream"
H_VERSION = "Tessera-Version"
H_KIND = "Tessera-Kind"

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclasses.dataclass(frozen=True, slots=True)
class BusRecord:
    """A committed log record as published by the relay."""

    #: The record's position in the log's total order. Consumers track it (the
    #: projection runner stores it with the read model) and skip any record at or
    #: below what they have applied: that is what makes redelivery harmless. It is
    #: also the JetStream message ID, so re-publishing a position is deduplicated.
    position: int
    #: The position of the record the relay published just before this one: the
    #: log's previous record, 0 for the first. It is *not* ``position - 1``:
    #: positions have holes (on PostgreSQL a rolled-back transaction burns its
    #: notification IDs). A consumer whose last applied position is below
    #: ``previous`` has missed records and must read ``(applied, previous]`` from
    #: the log before applying this one.
    previous: int
    #: The stream (aggregate) the record belongs to: a room ID, a user ID… Lets a
    #: consumer filter or partition without decoding the payload.
    stream: str
    #: The record's version in its stream (from 1, no gaps). A per-stream consumer
    #: can check its own continuity with it; sync uses it for nothing else.
    version: int
    #: What the payload is (``m.pdu``, ``account.registered``…): projections
    #: dispatch on it and ignore kinds they do not handle (still tracking them).
    kind: str
    #: The opaque payload exactly as stored, usually canonical JSON.
    payload: bytes

    @classmethod
    def of(cls, record: LogRecord, previous: int) -> BusRecord:
        return cls(
            record.position, previous, record.stream, record.version, record.kind, record.payload
        )

    def log_record(self) -> LogRecord:
        return LogRecord(self.position, self.stream, self.version, self.kind, self.payload)

    def headers(self) -> dict[str, str]:
        return {
            H_MSG_ID: str(self.position),
            H_POSITION: str(self.position),
            H_PREVIOUS: str(self.previous),
            H_STREAM: self.stream,
            H_VERSION: str(self.version),
            H_KIND: self.kind,
        }

    @classmethod
    def from_wire(cls, headers: Mapping[str, str], body: bytes) -> BusRecord:
        return cls(
            position=int(headers[H_POSITION]),
            previous=int(headers[H_PREVIOUS]),
            stream=headers[H_STREAM],
            version=int(headers[H_VERSION]),
            kind=headers[H_KIND],
            payload=body,
        )


def chain(records: Sequence[LogRecord], previous: int) -> list[BusRecord]:
    """The records as bus messages, each pointing at the one before it."""
    out: list[BusRecord] = []
    for record in records:
        out.append(BusRecord.of(record, previous))
        previous = record.position
    return out


def applied_topic(projection: str) -> str:
    """The signal a worker sends after committing a batch (body: the position, ASCII)."""
    if not _NAME.match(projection):
        raise ValueError(f"projection names are lowercase identifiers, not {projection!r}")
    return APPLIED_PREFIX + projection


@dataclasses.dataclass(frozen=True, slots=True)
class Applied:
    """What an ``applied.<worker>`` signal says, decoded."""

    #: Every projection in ``names`` has applied the log up to here.
    position: int
    names: tuple[str, ...]
    #: Those of ``names`` whose read model changed since the worker's previous
    #: signal (a listener that cares about one read model, such as the token
    #: map, reloads only then).
    changed: frozenset[str]


def encode_applied(position: int, names: Sequence[str], changed: Collection[str] = ()) -> bytes:
    """The body of an ``applied.<worker>`` signal: ``POSITION[ NAME,…[ CHANGED,…]]``.

    A worker runs a group of projections and sends one signal per batch for all
    of them. A bare position (what a one-projection worker sent before groups
    existed) means the projection the topic names."""
    body = str(position)
    if names:
        body += " " + ",".join(names)
        if changed:
            body += " " + ",".join(sorted(changed))
    return body.encode()


def decode_applied(topic: str, body: bytes) -> Applied:
    """``topic`` is the relative topic (``applied.<worker>``)."""
    parts = body.decode().split(" ")
    names = tuple(parts[1].split(",")) if len(parts) > 1 else (topic[len(APPLIED_PREFIX) :],)
    changed = frozenset(parts[2].split(",")) if len(parts) > 2 else frozenset()
    return Applied(int(parts[0]), names, changed)


class OutOfStep(Exception):
    """The bus already holds records past what this relay believed (another relay
    published them, or the stream was reset): resume after ``last``."""

    def __init__(self, last: int) -> None:
        super().__init__(f"the bus is at position {last}")
        self.last = last


#: A signal handler: ``(relative topic, body)``. Called on the event loop; must
#: not block.
Handler = Callable[[str, bytes], None]
Unlisten = Callable[[], Awaitable[None]]


class RecordConsumer(Protocol):
    """One projection's durable subscription to the records."""

    async def fetch(self, max_records: int, wait: float) -> list[BusRecord]:
        """Up to ``max_records``, in order; ``[]`` when none came within ``wait`` seconds."""
        ...

    async def ack(self) -> None:
        """Everything fetched so far is applied: do not deliver it again."""
        ...

    async def close(self) -> None: ...


class Bus(Protocol):
    async def resume_after(self) -> int | None:
        """Where a starting relay resumes: the last position the bus holds, or
        ``None`` when the bus keeps nothing across restarts (the relay then starts
        at the log's head and consumers catch up from the log)."""
        ...

    async def publish(self, records: Sequence[BusRecord]) -> None:
        """Publish in order; a position already published is dropped.

        Raises OutOfStep when the bus is ahead of ``records[0].previous``."""
        ...

    async def consumer(self, name: str) -> RecordConsumer:
        """The durable consumer of projection ``name``; records published from
        now on are delivered to it (older ones come from the log)."""
        ...

    async def signal(self, topic: str, body: bytes = b"") -> None:
        """Send an at-most-once signal to every listener of ``topic``."""
        ...

    async def listen(self, topic: str, handler: Handler) -> Unlisten:
        """Call ``handler`` for each signal on ``topic``; a topic ending in ``.>``
        matches every topic under that prefix."""
        ...

    async def close(self) -> None: ...


def topic_matches(pattern: str, topic: str) -> bool:
    if pattern.endswith(".>"):
        return topic.startswith(pattern[:-1])
    return pattern == topic
