"""Writes of a user's own data: account data, tags, read markers, filters,
push rules and receipts (record kinds in ``tessera.schema.userdata``).

Each write is one record on one of the user's two streams, appended through a
``StreamRepository`` (per-stream lock, retry on a cross-process conflict).
Handlers then wait for the projections before answering (invariant 3).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tessera.schema.log import EventStore, LogRecord, NewRecord
from tessera.schema.push_rules import empty_document
from tessera.schema.userdata import (
    ACCOUNT_DATA_SET,
    FILTER_CREATED,
    PUSH_RULES_SET,
    RECEIPT_SENT,
    AccountDataSet,
    FilterCreated,
    PushRulesSet,
    ReceiptSent,
    receipts_stream,
    userdata_stream,
)

from .group_commit import GroupCommitter
from .streams import StreamRepository, Versioned

#: Account data types the server manages: clients set them through their own
#: endpoints, never ``PUT …/account_data`` (the spec answers 405).
SERVER_MANAGED_TYPES = frozenset({"m.fully_read", "m.push_rules"})
TAG = "m.tag"


class UserData:
    """The aggregate of ``userdata|<user>``: what a write must know to decide."""

    def __init__(self, stream: str) -> None:
        self.stream = stream
        self.stream_version = 0
        self.filter_count = 0
        self.push_rules: dict[str, Any] = empty_document()
        #: ``room_id -> {tag: {order?}}``: tag changes are read-modify-write.
        self.tags: dict[str, dict[str, Any]] = {}

    def apply(self, record: LogRecord | NewRecord) -> None:
        self.stream_version = record.version
        if record.kind == FILTER_CREATED:
            self.filter_count += 1
        elif record.kind == PUSH_RULES_SET:
            self.push_rules = PushRulesSet.decode(record.payload).rules
        elif record.kind == ACCOUNT_DATA_SET:
            data = AccountDataSet.decode(record.payload)
            if data.type == TAG and data.room_id is not None:
                tags = data.content.get("tags")
                self.tags[data.room_id] = dict(tags) if isinstance(tags, dict) else {}

    def next(self, kind: str, payload: bytes) -> NewRecord:
        return NewRecord(self.stream, self.stream_version + 1, kind, payload)


class UserDataCommands:
    """The write side of user data, one instance per process (``Services.userdata``)."""

    def __init__(self, store: EventStore, committer: GroupCommitter) -> None:
        self.settings: StreamRepository[UserData] = StreamRepository(store, committer, UserData)
        self.receipts: StreamRepository[Versioned] = StreamRepository(store, committer, Versioned)

    async def set_account_data(
        self, user_id: str, room_id: str | None, data_type: str, content: dict[str, Any]
    ) -> list[int]:
        payload = AccountDataSet(room_id, data_type, content).encode()
        positions, _ = await self.settings.write(
            userdata_stream(user_id), lambda agg: ([agg.next(ACCOUNT_DATA_SET, payload)], None)
        )
        return positions

    async def change_tag(
        self, user_id: str, room_id: str, tag: str, value: dict[str, Any] | None
    ) -> list[int]:
        """Sets (``value``) or removes (None) one tag of a room (``m.tag``)."""

        def decide(agg: UserData) -> tuple[list[NewRecord], None]:
            tags = dict(agg.tags.get(room_id, {}))
            if value is None:
                if tag not in tags:
                    return [], None
                del tags[tag]
            else:
                tags[tag] = value
            payload = AccountDataSet(room_id, TAG, {"tags": tags}).encode()
            return [agg.next(ACCOUNT_DATA_SET, payload)], None

        positions, _ = await self.settings.write(userdata_stream(user_id), decide)
        return positions

    async def create_filter(self, user_id: str, definition: dict[str, Any]) -> tuple[int, str]:
        """Stores a filter; the last position and the new filter's ID."""

        def decide(agg: UserData) -> tuple[list[NewRecord], str]:
            filter_id = str(agg.filter_count)
            payload = FilterCreated(filter_id, definition).encode()
            return [agg.next(FILTER_CREATED, payload)], filter_id

        positions, filter_id = await self.settings.write(userdata_stream(user_id), decide)
        return max(positions), filter_id

    async def change_push_rules(
        self, user_id: str, change: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> list[int]:
        """Applies ``change`` (from ``tessera.command.push_rules``; it raises
        PushRuleError to refuse) to the user's document and records the result."""

        def decide(agg: UserData) -> tuple[list[NewRecord], None]:
            new = change(agg.push_rules)
            if new == agg.push_rules:
                return [], None
            return [agg.next(PUSH_RULES_SET, PushRulesSet(new).encode())], None

        positions, _ = await self.settings.write(userdata_stream(user_id), decide)
        return positions

    async def push_rules_document(self, user_id: str) -> dict[str, Any]:
        """The user's document as the write side knows it (for read-after-change
        answers within one request, e.g. the 404 of an unknown rule)."""
        return (await self.settings.get(userdata_stream(user_id))).push_rules

    async def send_receipt(self, user_id: str, receipt: ReceiptSent) -> list[int]:
        payload = receipt.encode()
        positions, _ = await self.receipts.write(
            receipts_stream(user_id), lambda agg: ([agg.next(RECEIPT_SENT, payload)], None)
        )
        return positions
