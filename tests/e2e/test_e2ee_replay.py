"""The e2ee read models rebuilt from the log equal the live ones (invariant 1)."""

from __future__ import annotations

import asyncio

from tessera.app.replay import checksums, rebuild
from tessera.projections import device_keys, one_time_keys, room_keys, to_device
from tests.e2e.e2ee_kit import (
    V3,
    upload,
)
from tests.e2e.e2ee_kit import (
    device_keys as make_device_keys,
)
from tests.e2e.e2ee_kit import (
    one_time_keys as make_otks,
)
from tests.e2e.harness import Client, Server
from tests.e2e.test_e2ee_keys_http import claim
from tests.e2e.test_e2ee_signing_backup_http import publish_cross_signing, session

PROJECTIONS = [device_keys, one_time_keys, to_device, room_keys]


async def test_replay_rebuilds_the_e2ee_read_models_identically(
    client: Client, server: Server
) -> None:
    alice, bob = await client.register(), await client.register()
    keys, signer = make_device_keys(alice)
    body = {
        "device_keys": keys,
        "one_time_keys": make_otks(alice, signer, 3),
        "fallback_keys": make_otks(alice, signer, 1, start=9, fallback=True),
    }
    assert (await upload(client, alice, body))[0] == 200
    for _ in range(4):
        await claim(client, bob, alice)
    await publish_cross_signing(client, alice)
    messages = {"messages": {alice.user_id: {"*": {"n": 1}}, bob.user_id: {"*": {"n": 2}}}}
    assert (await client.put(f"{V3}/sendToDevice/m.t/1", messages, token=bob.token))[0] == 200
    algorithm = {"algorithm": "m.megolm_backup.v1.curve25519-aes-sha2", "auth_data": {"k": 1}}
    _, made = await client.post(f"{V3}/room_keys/version", algorithm, token=alice.token)
    q = {"version": made["version"]}
    assert (
        await client.put(f"{V3}/room_keys/keys/!r:x/s", session(1), token=alice.token, params=q)
    )[0] == 200

    services = server.services
    for table in ("e2e_device_keys", "e2e_fallback_keys", "to_device_inbox", "room_keys"):
        [(rows,)] = services.readdb.iter_rows(f"SELECT COUNT(*) FROM {table}")
        assert rows > 0, table
    live = await asyncio.to_thread(checksums, services.readdb, PROJECTIONS)
    await asyncio.to_thread(rebuild, services.store, services.readdb, PROJECTIONS)
    assert await asyncio.to_thread(checksums, services.readdb, PROJECTIONS) == live
