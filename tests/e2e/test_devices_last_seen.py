"""Devices' ``last_seen_ts`` / ``last_seen_ip`` over HTTP, once the sightings are
flushed to the log; a deleted device's pending sighting is never written; the
accounts read model rebuilt from the log is identical (invariant 1)."""

from __future__ import annotations

import asyncio

import aiohttp

from tessera.app.replay import checksums, rebuild
from tessera.projections import accounts
from tests.e2e.harness import Client, Server, ServerFactory
from tests.e2e.test_accounts_manage import password_auth
from tests.openapi import assert_matches_spec

V3 = "/_matrix/client/v3"


async def flush(server: Server) -> None:
    positions = await server.services.seen.flush()
    assert positions
    await server.services.applied.wait_for(max(positions))


async def test_devices_show_last_seen_once_flushed(client: Client, server: Server) -> None:
    alice = await client.register()
    status, body = await client.get(V3 + "/devices", alice.token)
    assert status == 200
    # Not flushed yet: the fields are unknown, hence absent.
    [device] = body["devices"]
    assert "last_seen_ts" not in device and "last_seen_ip" not in device

    before = server.services.clock()
    assert (await client.get(V3 + "/account/whoami", alice.token))[0] == 200
    await flush(server)
    status, body = await client.get(V3 + "/devices", alice.token)
    assert_matches_spec("GET", V3 + "/devices", status, body)
    [device] = body["devices"]
    assert device["device_id"] == alice.device_id
    assert before <= device["last_seen_ts"] <= server.services.clock()
    assert device["last_seen_ip"] == "127.0.0.1"
    path = f"{V3}/devices/{alice.device_id}"
    status, one = await client.get(path, alice.token)
    assert_matches_spec("GET", path, status, one)
    assert one["last_seen_ts"] >= device["last_seen_ts"] and one["last_seen_ip"] == "127.0.0.1"

    # A device deleted before the flush: its sighting is dropped, not written.
    other = await client.login(alice.user_id)
    assert (await client.get(V3 + "/account/whoami", other.token))[0] == 200
    assert (alice.user_id, other.device_id) in server.services.seen.pending
    body = {"auth": password_auth(alice)}
    status, _ = await client.delete(f"{V3}/devices/{other.device_id}", body, alice.token)
    assert status == 200
    assert (alice.user_id, other.device_id) not in server.services.seen.pending
    await flush(server)  # alice's own sightings from the requests above
    status, body = await client.get(V3 + "/devices", alice.token)
    assert [d["device_id"] for d in body["devices"]] == [alice.device_id]

    services = server.services
    [(rows,)] = services.readdb.iter_rows("SELECT COUNT(*) FROM accounts_devices_seen")
    assert rows == 1
    live = await asyncio.to_thread(checksums, services.readdb, [accounts])
    await asyncio.to_thread(rebuild, services.store, services.readdb, [accounts])
    assert await asyncio.to_thread(checksums, services.readdb, [accounts]) == live


async def test_sightings_are_flushed_periodically(
    start_server: ServerFactory, http: aiohttp.ClientSession
) -> None:
    server = await start_server(device_seen_flush_ms=20)
    client = Client(http, server.base_url)
    alice = await client.register()
    assert (await client.get(V3 + "/account/whoami", alice.token))[0] == 200
    async with asyncio.timeout(10):
        while True:  # the background task's flush, then its projection
            _, body = await client.get(V3 + "/devices", alice.token)
            if "last_seen_ts" in body["devices"][0]:
                break
            await asyncio.sleep(0.02)
    assert body["devices"][0]["last_seen_ip"] == "127.0.0.1"
