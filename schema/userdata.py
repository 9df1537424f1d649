"""Record kinds and payloads of a user's own data: account data, filters, push
rules, receipts.

Two streams per user, so that a burst of read receipts never contends with the
user's settings:

- ``userdata|@alice:hs`` — account data (global and per room, including
  ``m.tag`` and the ``m.fully_read`` read marker), filters and the push rules
  set. Its aggregate (``tessera.command.userdata.UserData``) knows how many
  filters exist (the next filter ID) and the user's push rules document.
- ``receipts|@alice:hs`` — read receipts; an append-only ``Versioned`` stream.

Every payload is the record's fields as a JSON object with sorted keys
(``encode``, ``schema/payloads.py``): not canonical JSON,
because nothing here is signed and clients put floats in account data (tag
``order``s such as ``0.5``), which canonical JSON forbids. Kinds and their fields:

``account_data.set``
    ``{"room_id": str | null, "type": str, "content": object}`` — replaces the
    content of one account data type; ``room_id`` null for global account data.

``filter.created``
    ``{"filter_id": str, "filter": object}`` — filters are immutable once
    created; IDs count up from ``"0"`` per user.

``push_rules.set``
    ``{"rules": PushRulesDocument}`` — the whole user part of the push rules set
    after a change (the fold is a replacement; ordering decisions were made by
    the command side). The document is
    ``{"override"|"content"|"room"|"sender"|"underride": [rule, …],
    "defaults": {rule_id: {"enabled"?: bool, "actions"?: list}}}``: the
    user-defined rules in priority order, and the user's overrides of the
    server-default rules (``tessera.schema.push_rules``).

``receipt.sent``
    ``{"room_id": str, "event_id": str, "receipt_type": "m.read" |
    "m.read.private", "thread_id": str | null, "ts": int}`` — ``thread_id`` null
    for an unthreaded receipt, ``"main"`` or a thread root's event ID otherwise.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tessera.schema.payloads import JsonRecord, sorted_json

#: The payloads' JSON (``projections/push_actions.py`` writes its rows with it too).
encode = sorted_json

USERDATA_PREFIX = "userdata|"
RECEIPTS_PREFIX = "receipts|"

ACCOUNT_DATA_SET = "account_data.set"
FILTER_CREATED = "filter.created"
PUSH_RULES_SET = "push_rules.set"
RECEIPT_SENT = "receipt.sent"

RECEIPT_TYPES = ("m.read", "m.read.private")


def userdata_stream(user_id: str) -> str:
    return USERDATA_PREFIX + user_id


def receipts_stream(user_id: str) -> str:
    return RECEIPTS_PREFIX + user_id


def stream_user(stream: str) -> str | None:
    """The user a per-user stream of this module belongs to, or None."""
    for prefix in (USERDATA_PREFIX, RECEIPTS_PREFIX):
        if stream.startswith(prefix):
            return stream[len(prefix) :]
    return None


@dataclasses.dataclass(frozen=True, slots=True)
class AccountDataSet(JsonRecord):
    room_id: str | None
    type: str
    content: dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class FilterCreated(JsonRecord):
    filter_id: str
    filter: dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class PushRulesSet(JsonRecord):
    rules: dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class ReceiptSent(JsonRecord):
    room_id: str
    event_id: str
    receipt_type: str
    thread_id: str | None
    ts: int
