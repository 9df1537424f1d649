"""Invariant 7: PDUs are opaque canonical-JSON strings, from the HTTP request to every read.

Event content shaped like the eventsourcing transcoder's own envelopes
(``{"_type_": ..., "_data_": ...}``), strings that look like numbers, the
largest integers canonical JSON allows, unicode and escapes, unsorted keys:
the PDU the log holds must be the canonical JSON that was hashed and signed
(its event ID recomputes from it), the bus must carry the log's bytes, the
``room_events`` read model must keep the same string, and every read path
(``/event``, ``/messages``, ``/state``, ``/sync``) must give the content back
as sent. Account data, which is not a PDU but crosses the same store and bus,
must survive the same shapes. On both profiles.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import orjson

from tessera.kernel.canonical_json import encode_canonical_json
from tessera.kernel.hashing import compute_event_id, content_hash_matches
from tessera.kernel.room_versions import room_version
from tessera.schema.bus import BusRecord
from tessera.schema.records import PDU, PduRecord
from tests.e2e.harness import Client, Server
from tests.openapi import assert_matches_spec

V3 = "/_matrix/client/v3"

#: Content that a serializer with opinions would change.
TRICKY: dict[str, Any] = {
    "msgtype": "m.text",
    "body": "looks like an envelope",
    "_type_": "decimal.Decimal",
    "_data_": "1.5",
    "when": {"_type_": "datetime.datetime", "_data_": "2024-01-01T00:00:00+00:00"},
    "id": {"_type_": "uuid.UUID", "_data_": "00000000-0000-4000-8000-000000000000"},
    "numbers_as_strings": ["1.0", "1e3", "-0", "NaN", "0x10", "007"],
    "extremes": [9007199254740991, -9007199254740991, 0, -1],
    "text": 'é ☃ 😀 \u2028 \u0000 \t "quoted" \\ / </script>',
    "keys": {"b": 1, "a": 2, "é": 3, "A": 4, "": 5},
    "shapes": [[], [{}], None, True, False, {"_type_": "tuple", "_data_": [1, 2]}],
}


def q(value: str) -> str:
    return quote(value, safe="")


async def tap_records(server: Server, name: str) -> Any:
    """A consumer of the bus, as a projection worker has (records from now on)."""
    return await server.services.bus.consumer(name)


async def bus_payloads(consumer: Any, positions: set[int]) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    async with asyncio.timeout(10):
        while not positions <= found.keys():
            batch: list[BusRecord] = await consumer.fetch(100, 1.0)
            found.update({r.position: r.payload for r in batch})
            await consumer.ack()
    return found


async def test_event_content_passes_through_untouched(server: Server, client: Client) -> None:
    alice = await client.register()
    status, created = await client.post(V3 + "/createRoom", {"preset": "private_chat"}, alice.token)
    assert status == 200, created
    room = created["room_id"]
    tap = await tap_records(server, "invariant_opaque_tap")
    try:
        status, sent = await client.put(
            f"{V3}/rooms/{q(room)}/send/m.room.message/opaque1", TRICKY, alice.token
        )
        assert status == 200, sent
        status, state = await client.put(
            f"{V3}/rooms/{q(room)}/state/org.example.opaque/k", TRICKY, alice.token
        )
        assert status == 200, state
        ids = {sent["event_id"], state["event_id"]}

        # The log: the canonical JSON that was hashed and signed, content intact.
        records = await asyncio.to_thread(server.services.store.read, 0, 100_000)
        stored = {}
        for record in records:
            if record.kind != PDU:
                continue
            body = PduRecord.decode(record.payload)
            if body.event_id in ids:
                stored[body.event_id] = (record, body)
        assert stored.keys() == ids
        for event_id, (_, body) in stored.items():
            pdu = orjson.loads(body.pdu_json)
            assert body.pdu_json.encode() == encode_canonical_json(pdu), "not canonical"
            assert pdu["content"] == TRICKY
            assert compute_event_id(room_version(body.room_version), pdu) == event_id
            assert content_hash_matches(pdu)

        # The bus: the log's payload bytes, not a re-encoding of them.
        on_bus = await bus_payloads(tap, {r.position for r, _ in stored.values()})
        for record, _ in stored.values():
            assert on_bus[record.position] == record.payload
    finally:
        await tap.close()

    # The read model keeps the string; every read path gives the content back.
    for event_id, (_, body) in stored.items():
        rows = list(
            server.services.readdb.iter_rows(
                "SELECT pdu FROM room_events WHERE event_id = ?", (event_id,)
            )
        )
        assert rows == [(body.pdu_json,)]
        path = f"{V3}/rooms/{q(room)}/event/{q(event_id)}"
        status, event = await client.get(path, alice.token)
        assert (status, event["content"]) == (200, TRICKY)
    status, page = await client.get(
        f"{V3}/rooms/{q(room)}/messages", alice.token, params={"dir": "b", "limit": "5"}
    )
    assert status == 200
    assert_matches_spec("GET", f"{V3}/rooms/{q(room)}/messages", status, page)
    assert [e["content"] for e in page["chunk"] if e["event_id"] in ids] == [TRICKY, TRICKY]
    status, got = await client.get(f"{V3}/rooms/{q(room)}/state/org.example.opaque/k", alice.token)
    assert (status, got) == (200, TRICKY)
    status, synced = await client.get(V3 + "/sync", alice.token)
    assert status == 200
    timeline = synced["rooms"]["join"][room]["timeline"]["events"]
    assert [e["content"] for e in timeline if e["event_id"] in ids] == [TRICKY, TRICKY]


async def test_account_data_passes_through_untouched(client: Client) -> None:
    alice = await client.register()
    path = f"{V3}/user/{q(alice.user_id)}/account_data/org.example.opaque"
    status, _ = await client.put(path, TRICKY, alice.token)
    assert status == 200
    status, got = await client.get(path, alice.token)
    assert (status, got) == (200, TRICKY)
    status, synced = await client.get(V3 + "/sync", alice.token)
    assert status == 200
    events = synced["account_data"]["events"]
    assert {"type": "org.example.opaque", "content": TRICKY} in events
