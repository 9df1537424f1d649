"""Threads, edits, reactions, spaces and jump-to-date over HTTP, on both profiles,
every body checked against the spec's OpenAPI (v1 endpoints: relations,
threads, hierarchy, timestamp_to_event)."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

from tests.e2e.harness import Client, User
from tests.openapi import assert_matches_spec

V1, V3 = "/_matrix/client/v1", "/_matrix/client/v3"


def path(version: str, room_id: str, *rest: str) -> str:
    return "/".join(
        [f"{version}/rooms/{quote(room_id, safe='')}", *(quote(r, safe="") for r in rest)]
    )


async def get(client: Client, user: User, url: str, **params: str) -> tuple[int, Any]:
    status, body = await client.get(url, token=user.token, params=params or None)
    assert_matches_spec("GET", url, status, body)
    return status, body


async def create_room(client: Client, user: User, **body: Any) -> str:
    status, answer = await client.post(f"{V3}/createRoom", body, token=user.token)
    assert status == 200, answer
    return str(answer["room_id"])


async def send(
    client: Client, user: User, room: str, content: dict[str, Any], kind: str = "m.room.message"
) -> str:
    status, answer = await client.put(
        path(V3, room, "send", kind, secrets.token_hex(4)), content, token=user.token
    )
    assert status == 200, answer
    return str(answer["event_id"])


async def text(client: Client, user: User, room: str, body: str, **extra: Any) -> str:
    return await send(client, user, room, {"msgtype": "m.text", "body": body, **extra})


async def reply(client: Client, user: User, room: str, root: str, body: str) -> str:
    relates = {"rel_type": "m.thread", "event_id": root}
    return await text(client, user, room, body, **{"m.relates_to": relates})


async def join(client: Client, user: User, room: str) -> None:
    status, answer = await client.post(path(V3, room, "join"), {}, token=user.token)
    assert status == 200, answer


def ids(chunk: list[dict[str, Any]]) -> list[str]:
    return [event["event_id"] for event in chunk]


async def test_threads_edits_and_reactions(client: Client) -> None:
    alice, bob, stranger = await client.register(), await client.register(), await client.register()
    room = await create_room(client, alice, preset="public_chat")
    await join(client, bob, room)
    await client.put(path(V3, room, "state", "m.room.history_visibility", ""),
                     {"history_visibility": "joined"}, token=alice.token)  # fmt: skip
    roots = [await text(client, alice, room, f"topic {n}") for n in range(3)]
    replies = [
        await reply(client, bob, room, roots[0], "bob on 0"),
        await reply(client, alice, room, roots[0], "alice on 0"),
        await reply(client, bob, room, roots[1], "bob on 1"),
        await reply(client, alice, room, roots[2], "alice on 2"),
        await reply(client, bob, room, roots[0], "bob again on 0"),
    ]

    # /threads: newest activity first, paged, with the thread summaries.
    status, page = await get(client, bob, path(V1, room, "threads"), limit="2")
    assert status == 200 and ids(page["chunk"]) == [roots[0], roots[2]]
    summary = page["chunk"][0]["unsigned"]["m.relations"]["m.thread"]
    assert summary["count"] == 3 and summary["current_user_participated"] is True
    assert summary["latest_event"]["event_id"] == replies[4]
    assert (
        page["chunk"][1]["unsigned"]["m.relations"]["m.thread"]["current_user_participated"]
        is False
    )
    _, rest = await get(
        client, bob, path(V1, room, "threads"), limit="2", **{"from": page["next_batch"]}
    )
    assert ids(rest["chunk"]) == [roots[1]] and "next_batch" not in rest
    _, mine = await get(client, bob, path(V1, room, "threads"), include="participated")
    assert ids(mine["chunk"]) == [roots[0], roots[1]]

    # /relations of a thread root: newest first, paged both ways.
    _, first = await get(client, alice, path(V1, room, "relations", roots[0]), limit="2")
    assert ids(first["chunk"]) == [replies[4], replies[1]]
    _, second = await get(client, alice, path(V1, room, "relations", roots[0]), limit="2",
                          **{"from": first["next_batch"]})  # fmt: skip
    assert ids(second["chunk"]) == [replies[0]] and "next_batch" not in second
    _, forwards = await get(client, alice, path(V1, room, "relations", roots[0]), dir="f")
    assert ids(forwards["chunk"]) == [replies[0], replies[1], replies[4]]

    # An edit and two reactions on the thread's latest reply; filters by rel_type and type.
    target = replies[4]
    replacing = {
        "m.new_content": {"msgtype": "m.text", "body": "bob, edited"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": target},
    }
    edit = await text(client, bob, room, "* bob, edited", **replacing)
    reactions = [
        await send(
            client,
            user,
            room,
            {"m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": "👍"}},
            "m.reaction",
        )
        for user in (alice, bob)
    ]
    _, every = await get(client, bob, path(V1, room, "relations", target))
    assert ids(every["chunk"]) == [reactions[1], reactions[0], edit]
    _, annotations = await get(client, bob, path(V1, room, "relations", target, "m.annotation"))
    assert ids(annotations["chunk"]) == [reactions[1], reactions[0]]
    url = path(V1, room, "relations", target, "m.annotation", "m.room.message")
    assert (await get(client, bob, url))[1]["chunk"] == []
    url = path(V1, room, "relations", target, "m.replace", "m.room.message")
    assert ids((await get(client, bob, url))[1]["chunk"]) == [edit]
    # recurse: the root's children and theirs (the edit and reactions on a reply).
    url = path(V1, room, "relations", roots[0])
    _, deep = await get(client, bob, url, recurse="true", limit="50")
    assert set(ids(deep["chunk"])) == {*replies[0:2], replies[4], edit, *reactions}
    assert deep["recursion_depth"] == 3

    # The edited reply: the latest edit bundled, its content left as it was;
    # reactions are not bundled; the thread summary's latest event (this reply)
    # carries its own aggregations, in /event, /messages and /context alike.
    _, event = await get(client, alice, path(V3, room, "event", target))
    assert event["content"]["body"] == "bob again on 0"
    assert list(event["unsigned"]["m.relations"]) == ["m.replace"]
    assert event["unsigned"]["m.relations"]["m.replace"]["event_id"] == edit
    _, history = await get(client, alice, path(V3, room, "messages"), dir="b", limit="50")
    _, context = await get(client, alice, path(V3, room, "context", roots[0]), limit="2")
    for root in ({e["event_id"]: e for e in history["chunk"]}[roots[0]], context["event"]):
        thread = root["unsigned"]["m.relations"]["m.thread"]
        assert thread["count"] == 3
        latest = thread["latest_event"]
        assert latest["unsigned"]["m.relations"]["m.replace"]["event_id"] == edit

    # /sync bundles aggregations in a limited timeline.
    last = await text(client, alice, room, "last")
    ref = await text(client, bob, room, "see above", **{
        "m.relates_to": {"rel_type": "m.reference", "event_id": last}})  # fmt: skip
    flt = '{"room": {"timeline": {"limit": 2}}}'
    status, synced = await client.get(f"{V3}/sync", token=alice.token, params={"filter": flt})
    timeline = synced["rooms"]["join"][room]["timeline"]
    assert timeline["limited"] and ids(timeline["events"]) == [last, ref]
    relations = timeline["events"][0]["unsigned"]["m.relations"]
    assert relations == {"m.reference": {"chunk": [{"event_id": ref}]}}

    # History visibility: a stranger may not read the room's relations or threads.
    status, refused = await get(client, stranger, path(V1, room, "relations", roots[0]))
    assert (status, refused["errcode"]) == (404, "M_NOT_FOUND")
    status, refused = await get(client, stranger, path(V1, room, "threads"))
    assert (status, refused["errcode"]) == (403, "M_FORBIDDEN")
    status, refused = await get(client, bob, path(V1, room, "threads"), limit="0")
    assert (status, refused["errcode"]) == (400, "M_INVALID_PARAM")


async def test_space_hierarchy(client: Client) -> None:
    alice, bob = await client.register(), await client.register()
    space = await create_room(client, alice, preset="public_chat", name="Space",
                              creation_content={"type": "m.space"})  # fmt: skip
    sub = await create_room(client, alice, preset="public_chat", name="Subspace",
                            creation_content={"type": "m.space"})  # fmt: skip
    general = await create_room(client, alice, preset="public_chat", name="General")
    secret = await create_room(client, alice, preset="private_chat", name="Secret")
    deep = await create_room(client, alice, preset="public_chat", name="Deep")
    server = alice.user_id.split(":", 1)[1]

    async def child(parent: str, room: str, **content: Any) -> None:
        url = path(V3, parent, "state", "m.space.child", room)
        status, answer = await client.put(url, {"via": [server], **content}, token=alice.token)
        assert status == 200, answer

    await child(space, general, order="b")
    await child(space, sub, order="a", suggested=True)
    await child(space, secret, order="c", suggested=True)
    await child(sub, deep)
    await child(sub, space)  # a loop, broken by the walk

    url = path(V1, space, "hierarchy")
    status, tree = await get(client, alice, url)
    assert status == 200
    assert [r["room_id"] for r in tree["rooms"]] == [space, sub, deep, general, secret]
    top = tree["rooms"][0]
    assert top["room_type"] == "m.space" and top["name"] == "Space"
    assert [c["state_key"] for c in top["children_state"]] == [sub, general, secret]

    _, seen_by_bob = await get(client, bob, url)  # the private room is left out
    assert [r["room_id"] for r in seen_by_bob["rooms"]] == [space, sub, deep, general]
    _, suggested = await get(client, bob, url, suggested_only="true")
    assert [r["room_id"] for r in suggested["rooms"]] == [space, sub]
    _, shallow = await get(client, alice, url, max_depth="1")
    assert [r["room_id"] for r in shallow["rooms"]] == [space, sub, general, secret]

    pages: list[str] = []
    params = {"limit": "2", "max_depth": "1"}
    while True:
        _, page = await get(client, alice, url, **params)
        pages += [r["room_id"] for r in page["rooms"]]
        if "next_batch" not in page:
            break
        params["from"] = page["next_batch"]
    assert pages == [space, sub, general, secret]
    status, refused = await get(client, alice, url, limit="2", **{"from": params["from"]})
    assert (status, refused["errcode"]) == (400, "M_INVALID_PARAM")  # max_depth changed
    status, refused = await get(client, bob, path(V1, secret, "hierarchy"))
    assert (status, refused["errcode"]) == (403, "M_FORBIDDEN")


async def test_timestamp_to_event(client: Client) -> None:
    alice, stranger = await client.register(), await client.register()
    room = await create_room(client, alice, preset="private_chat")
    events = [await text(client, alice, room, f"m{n}") for n in range(3)]
    stamps = []
    for event_id in events:
        _, event = await get(client, alice, path(V3, room, "event", event_id))
        stamps.append(event["origin_server_ts"])

    url = path(V1, room, "timestamp_to_event")
    _, found = await get(client, alice, url, ts=str(stamps[1]), dir="f")
    assert found == {"event_id": events[1], "origin_server_ts": stamps[1]}
    _, found = await get(client, alice, url, ts=str(stamps[2] + 1), dir="b")
    assert found["event_id"] == events[2]
    _, found = await get(client, alice, url, ts=str(stamps[0] - 1_000_000), dir="b")
    status = found["errcode"]
    assert status == "M_NOT_FOUND"
    status_code, _ = await get(client, alice, url, ts=str(stamps[2] + 1), dir="f")
    assert status_code == 404
    status_code, refused = await get(client, stranger, url, ts=str(stamps[1]), dir="f")
    assert (status_code, refused["errcode"]) == (403, "M_FORBIDDEN")
    status_code, refused = await get(client, alice, url, ts=str(stamps[1]))
    assert (status_code, refused["errcode"]) == (400, "M_MISSING_PARAM")
