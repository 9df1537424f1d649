"""Payload formats of the log's record kinds.

A PDU record's payload is a canonical JSON envelope whose ``pdu`` field is the
PDU's own canonical JSON *as a string*: the bytes that were hashed and signed
pass through the store, the bus and every projection untouched and
uninterpreted (DESIGN invariant 7); only the envelope's fields are read to
route the record.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson

from tessera.kernel.canonical_json import encode_canonical_json

#: An accepted PDU of a room; ``stream`` is the room ID.
PDU = "m.pdu"


@dataclasses.dataclass(frozen=True, slots=True)
class PduRecord:
    event_id: str
    room_version: str
    #: The PDU's canonical JSON, exactly as signed.
    pdu_json: str
    #: Does the event replace an entry of the room's current state?
    is_state_change: bool = False
    #: For events sent by a local client: the device and transaction ID, so the
    #: sender's sync can echo ``transaction_id`` and retries stay idempotent.
    device_id: str | None = None
    txn_id: str | None = None

    def encode(self) -> bytes:
        body: dict[str, Any] = {
            "event_id": self.event_id,
            "room_version": self.room_version,
            "pdu": self.pdu_json,
        }
        if self.is_state_change:
            body["state"] = True
        if self.device_id is not None and self.txn_id is not None:
            body["device_id"] = self.device_id
            body["txn_id"] = self.txn_id
        return encode_canonical_json(body)

    @classmethod
    def decode(cls, payload: bytes) -> PduRecord:
        body = orjson.loads(payload)
        return cls(
            event_id=body["event_id"],
            room_version=body["room_version"],
            pdu_json=body["pdu"],
            is_state_change=bool(body.get("state", False)),
            device_id=body.get("device_id"),
            txn_id=body.get("txn_id"),
        )

    def pdu(self) -> dict[str, Any]:
        """The PDU parsed (a new dict each call)."""
        parsed: dict[str, Any] = orjson.loads(self.pdu_json)
        return parsed
