"""Invariant 1, the log is the only truth, with the real command line.

A realistic workload goes through the HTTP API of a server (rooms, members,
messages, redactions, state, aliases, the directory, receipts, account data,
tags, filters, push rules, profiles, devices, forgetting); the server stops;
then ``tessera checksum``, ``tessera replay`` and ``tessera checksum`` run as
subprocesses, as an operator runs them. Every read model the live workers
built must have the digest a rebuild from the log gives, on both profiles
(embedded: the data directory; scale: the test's PostgreSQL schema via
``?schema=``). A second server on the rebuilt read models then serves the same
history.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any
from urllib.parse import quote

import aiohttp

from tessera.projections.registry import all_projections
from tests.conftest import REPO
from tests.e2e.harness import Backing, Client, User, running_server

V3 = "/_matrix/client/v3"


def q(value: str) -> str:
    return quote(value, safe="")


async def ok(client: Client, method: str, path: str, user: User, body: object = None) -> Any:
    status, answer = await client.request(method, V3 + path, body, user.token)
    assert status == 200, f"{method} {path}: {status} {answer}"
    return answer or {}


async def workload(client: Client) -> tuple[str, list[str]]:
    """What a small community does in its first hour; the room and its message IDs."""
    alice, bob, carol = [await client.register() for _ in range(3)]
    room = (await ok(client, "POST", "/createRoom", alice, {
        "preset": "public_chat", "name": "Tea", "topic": "Brewing",
        "room_alias_name": "tea", "invite": [carol.user_id],
    }))["room_id"]  # fmt: skip
    dm = (await ok(client, "POST", "/createRoom", alice, {
        "preset": "trusted_private_chat", "invite": [bob.user_id], "is_direct": True,
    }))["room_id"]  # fmt: skip
    r = q(room)
    await ok(client, "POST", f"/join/{q('#tea:' + client_server_name(alice))}", bob, {})
    await ok(client, "POST", f"/rooms/{q(dm)}/join", bob, {})
    await ok(client, "POST", f"/rooms/{r}/leave", carol, {})  # rejects the invite
    await ok(client, "PUT", f"/directory/list/room/{r}", alice, {"visibility": "public"})
    sent = []
    for i in range(6):
        user = (alice, bob)[i % 2]
        path = f"/rooms/{r}/send/m.room.message/t{i}"
        body = {"msgtype": "m.text", "body": f"message {i}"}
        sent.append((await ok(client, "PUT", path, user, body))["event_id"])
    await ok(client, "PUT", f"/rooms/{r}/redact/{q(sent[1])}/red1", bob, {"reason": "typo"})
    await ok(client, "PUT", f"/rooms/{r}/state/m.room.topic/", alice, {"topic": "Oolong"})
    await ok(client, "POST", f"/rooms/{r}/receipt/m.read/{q(sent[-1])}", bob, {})
    await ok(client, "POST", f"/rooms/{r}/read_markers", alice, {
        "m.fully_read": sent[-1], "m.read.private": sent[-1],
    })  # fmt: skip
    u = q(alice.user_id)
    await ok(client, "PUT", f"/user/{u}/account_data/m.direct", alice, {bob.user_id: [dm]})
    await ok(client, "PUT", f"/user/{u}/rooms/{r}/tags/m.favourite", alice, {"order": 0.25})
    await ok(client, "POST", f"/user/{u}/filter", alice, {"room": {"timeline": {"limit": 5}}})
    await ok(client, "PUT", f"/pushrules/global/room/{r}", alice, {"actions": ["dont_notify"]})
    await ok(client, "PUT", f"/profile/{q(bob.user_id)}/displayname", bob, {"displayname": "Bob"})
    await ok(client, "PUT", f"/devices/{q(bob.device_id)}", bob, {"display_name": "laptop"})
    await ok(client, "POST", f"/rooms/{q(dm)}/leave", bob, {})
    await ok(client, "POST", f"/rooms/{q(dm)}/forget", bob, {})
    await ok(client, "POST", f"/rooms/{r}/kick", alice, {"user_id": bob.user_id})
    await ok(client, "POST", "/logout", carol, {})
    return room, sent


def client_server_name(user: User) -> str:
    return user.user_id.split(":", 1)[1]


async def tessera(backing: Backing, *args: str) -> str:
    """``tessera ARGS`` as a subprocess on the backing's stores; its stdout."""
    flags = ["--data-dir", str(backing.data_dir)]
    if backing.database:
        flags += ["--database", backing.database]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tessera.app.cli", *args, *flags,
        cwd=REPO, env=os.environ,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, f"tessera {' '.join(args)}: {err.decode()}"
    return out.decode()


def digests(text: str) -> dict[str, str]:
    return dict(line.split() for line in text.splitlines())


async def test_replay_then_checksum_after_a_workload(
    backing: Backing, http: aiohttp.ClientSession
) -> None:
    async with running_server(backing) as server:
        client = Client(http, server.base_url)
        room, sent = await workload(client)
        alice_view = await client.register()  # a reader who joins after everything
        await ok(client, "POST", f"/rooms/{q(room)}/join", alice_view, {})
        path = f"/rooms/{q(room)}/messages?dir=b&limit=100"
        served = (await ok(client, "GET", path, alice_view))["chunk"]
    # The server is stopped: replay must not race its workers.

    live = digests(await tessera(backing, "checksum"))
    assert list(live) == [p.name for p in all_projections()], "every read model is digested"
    assert all(len(d) == 64 for d in live.values())
    await tessera(backing, "replay")
    rebuilt = digests(await tessera(backing, "checksum"))
    differing = sorted(name for name in live if live[name] != rebuilt[name])
    assert not differing, f"read models that differ from a rebuild: {differing}"

    async with running_server(backing) as server:  # the rebuilt read models serve the same
        client = Client(http, server.base_url)
        status, login = await client.post(V3 + "/login", {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": alice_view.user_id},
            "password": alice_view.password,
        })  # fmt: skip
        assert status == 200, login
        status, page = await client.get(V3 + path, login["access_token"])
        assert status == 200, page
        assert without_age(page["chunk"]) == without_age(served)
    assert {sent[0], sent[-1]} <= {e["event_id"] for e in served}


def without_age(value: Any) -> Any:
    """Events as served, but for every ``age`` (it grows with the clock)."""
    if isinstance(value, dict):
        return {k: without_age(v) for k, v in value.items() if k != "age"}
    if isinstance(value, list):
        return [without_age(v) for v in value]
    return value
