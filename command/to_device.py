"""To-device messages: sending (idempotent per transaction) and acknowledging.

A send is one ``to_device.sent`` record on the sender device's outbox stream,
naming every recipient device; its aggregate remembers the device's recent
transaction IDs, so a retried ``PUT`` (same ``txnId``) appends nothing. An
acknowledgement is a ``to_device.acked`` record on the recipient device's inbox
stream, written when a sync's ``since`` proves the client received messages.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from tessera.schema import keys as k
from tessera.schema import to_device as td
from tessera.schema.log import EventStore, LogRecord, NewRecord

from .group_commit import GroupCommitter
from .keys_validate import KeysRefused
from .streams import StreamRepository

#: Transaction IDs a device's outbox remembers: a client retries a request within
#: seconds, never after thousands of other sends.
REMEMBERED_TXNS = 1000
#: Recipient devices of one send (``*`` expanded).
MAX_RECIPIENTS = 10_000


class Outbox:
    def __init__(self, stream: str) -> None:
        self.stream = stream
        self.stream_version = 0
        self.txns: OrderedDict[str, None] = OrderedDict()

    def apply(self, record: LogRecord | NewRecord) -> None:
        self.stream_version = record.version
        if record.kind == td.TO_DEVICE_SENT:
            self.txns[k.decode(record.payload)["txn_id"]] = None
            while len(self.txns) > REMEMBERED_TXNS:
                self.txns.popitem(last=False)


class Inbox:
    def __init__(self, stream: str) -> None:
        self.stream = stream
        self.stream_version = 0
        self.acked = 0

    def apply(self, record: LogRecord | NewRecord) -> None:
        self.stream_version = record.version
        if record.kind == td.TO_DEVICE_ACKED:
            self.acked = max(self.acked, int(k.decode(record.payload)["upto"]))


def check_messages(body: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    messages = body.get("messages")
    if not isinstance(messages, dict):
        raise KeysRefused(400, "M_BAD_JSON", "messages must be an object")
    for devices in messages.values():
        if not isinstance(devices, dict) or not all(
            isinstance(content, dict) for content in devices.values()
        ):
            raise KeysRefused(400, "M_BAD_JSON", "messages must map users to {device: content}")
    return messages


class ToDeviceCommands:
    def __init__(self, store: EventStore, committer: GroupCommitter) -> None:
        self.outboxes: StreamRepository[Outbox] = StreamRepository(store, committer, Outbox)
        self.inboxes: StreamRepository[Inbox] = StreamRepository(store, committer, Inbox)

    async def send(
        self,
        sender: str,
        sender_device: str,
        *,
        event_type: str,
        txn_id: str,
        messages: dict[str, dict[str, dict[str, Any]]],
        devices_of: Callable[[str], list[str]],
    ) -> list[int]:
        """Records one send; ``devices_of(user)`` lists a local user's devices (for
        ``*`` and to drop unknown devices). Remote users are skipped: there is no
        federation sender yet."""
        targets: list[list[Any]] = []
        for user_id, devices in sorted(messages.items()):
            known = devices_of(user_id)
            for device_id, content in sorted(devices.items()):
                chosen = known if device_id == "*" else [device_id] if device_id in known else []
                targets += [[user_id, d, content] for d in chosen]
        if len(targets) > MAX_RECIPIENTS:
            raise KeysRefused(413, "M_TOO_LARGE", f"At most {MAX_RECIPIENTS} recipient devices")
        body = {"txn_id": txn_id, "type": event_type, "sender": sender, "messages": targets}

        def decide(outbox: Outbox) -> tuple[list[NewRecord], None]:
            if txn_id in outbox.txns:
                return [], None
            record = NewRecord(
                outbox.stream, outbox.stream_version + 1, td.TO_DEVICE_SENT, k.encode(body)
            )
            return [record], None

        positions, _ = await self.outboxes.write(td.outbox_stream(sender, sender_device), decide)
        return positions

    async def acknowledge(self, user_id: str, device_id: str, upto: int) -> list[int]:
        """The device holds every message up to position ``upto``."""

        def decide(inbox: Inbox) -> tuple[list[NewRecord], None]:
            if upto <= inbox.acked:
                return [], None
            payload = k.encode({"upto": upto})
            return [
                NewRecord(inbox.stream, inbox.stream_version + 1, td.TO_DEVICE_ACKED, payload)
            ], None

        positions, _ = await self.inboxes.write(td.inbox_stream(user_id, device_id), decide)
        return positions
