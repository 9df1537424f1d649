"""The issue's four client scenarios, each against a running server.

Every scenario registers its own users, so they can run one after another on one
server; each returns a ``Result`` with the figure the issue asks for and the
numbers behind it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bench.keys import keys
from bench.matrix import BenchClient, text
from bench.media import media
from bench.report import Result
from bench.stats import percentile, rate


@dataclass(frozen=True, slots=True)
class Targets:
    """The issue's targets for one profile."""

    seq: float
    conc: float
    fanout_p50: float
    initsync: float
    rss_mib: float = 150


TARGETS = {
    "embedded": Targets(seq=400, conc=1200, fanout_p50=8, initsync=100),
    "scale": Targets(seq=250, conc=800, fanout_p50=15, initsync=150),
}

Scenario = Callable[[str, Targets], Awaitable[Result]]


def _localpart(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def _user(base_url: str, prefix: str, *, connections: int = 1) -> BenchClient:
    client = BenchClient(base_url, connections=connections)
    await client.register(_localpart(prefix))
    return client


async def seq(base_url: str, targets: Targets, *, sends: int = 300, warmup: int = 10) -> Result:
    """One client, ``sends`` sequential PUT /send on one connection, then a read of
    the last: the clock stops when every message is readable, not only logged."""
    client = await _user(base_url, "seq")
    try:
        room = await client.create_room(preset="private_chat")
        for i in range(warmup):
            await client.send(room, text(f"warm-up {i}"))
        start = time.perf_counter()
        for i in range(sends):
            last = await client.send(room, text(f"sequential message {i}"))
        acknowledged = time.perf_counter() - start
        await client.event(room, last)
        elapsed = time.perf_counter() - start
    finally:
        await client.close()
    return Result(
        "seq",
        rate(sends, elapsed),
        "msg/s",
        targets.seq,
        details={
            "sends": sends,
            "seconds": elapsed,
            "warmup": warmup,
            "acknowledged_msgs_per_s": rate(sends, acknowledged),
        },
    )


async def conc(base_url: str, targets: Targets, *, clients: int = 32, sends: int = 30) -> Result:
    """``clients`` clients, each in its own room on its own connection, ``sends``
    sends each, all at once."""
    users = await asyncio.gather(*(_user(base_url, f"conc{i}") for i in range(clients)))
    try:
        rooms = await asyncio.gather(*(u.create_room(preset="private_chat") for u in users))

        async def run(user: BenchClient, room: str) -> None:
            for i in range(sends):
                last = await user.send(room, text(f"concurrent message {i}"))
            await user.event(room, last)  # readable, not only logged

        start = time.perf_counter()
        await asyncio.gather(*(run(u, r) for u, r in zip(users, rooms, strict=True)))
        elapsed = time.perf_counter() - start
    finally:
        await asyncio.gather(*(u.close() for u in users))
    total = clients * sends
    return Result(
        "conc",
        rate(total, elapsed),
        "msg/s",
        targets.conc,
        details={"clients": clients, "sends": total, "seconds": elapsed},
    )


async def conc_members(
    base_url: str, targets: Targets, *, clients: int = 32, members: int = 32, sends: int = 30
) -> Result:
    """``conc`` with ``members`` members in every room: push rules are evaluated for
    the ``members - 1`` others at each send. Compare with the server run with
    ``--no-push-evaluation`` (docs/notifications.md)."""
    users = await asyncio.gather(*(_user(base_url, f"cm{i}") for i in range(clients)))
    others = await asyncio.gather(*(_user(base_url, f"cmm{i}") for i in range(members - 1)))
    try:
        rooms = await asyncio.gather(*(u.create_room(preset="public_chat") for u in users))
        for other in others:  # setup, not measured
            await asyncio.gather(*(other.join(room) for room in rooms))

        async def run(user: BenchClient, room: str) -> None:
            for i in range(sends):
                last = await user.send(room, text(f"concurrent message {i}"))
            await user.event(room, last)  # readable, not only logged

        start = time.perf_counter()
        await asyncio.gather(*(run(u, r) for u, r in zip(users, rooms, strict=True)))
        elapsed = time.perf_counter() - start
    finally:
        await asyncio.gather(*(u.close() for u in [*users, *others]))
    total = clients * sends
    return Result(
        f"conc{members}",
        rate(total, elapsed),
        "msg/s",
        targets.conc,
        details={"clients": clients, "members": members, "sends": total, "seconds": elapsed},
    )


def _room_filter(room_id: str, limit: int) -> dict[str, Any]:
    return {
        "room": {"rooms": [room_id], "timeline": {"limit": limit}},
        "presence": {"not_types": ["*"]},
        "account_data": {"not_types": ["*"]},
    }


async def fanout(
    base_url: str, targets: Targets, *, messages: int = 100, gap: float = 0.01, warmup: int = 3
) -> Result:
    """A receiver long-polls /sync while a sender sends ``messages`` one at a time;
    the latency of each is from the start of its PUT to the arrival of the /sync
    response carrying it. The sender waits for each delivery, then ``gap`` seconds,
    so that every message finds the receiver parked in a long-poll."""
    sender = await _user(base_url, "sender")
    receiver = await _user(base_url, "receiver")
    arrived: dict[int, float] = {}
    wake: dict[int, asyncio.Event] = {}
    try:
        room = await sender.create_room(preset="public_chat")
        await receiver.join(room)
        filter_json = _room_filter(room, 50)
        first = await receiver.sync(filter_json=filter_json)

        async def receive(since: str) -> None:
            while True:
                answer = await receiver.sync(
                    since=since, timeout_ms=30_000, filter_json=filter_json
                )
                now = time.perf_counter()
                since = answer["next_batch"]
                joined = answer.get("rooms", {}).get("join", {}).get(room, {})
                for event in joined.get("timeline", {}).get("events", []):
                    n = event.get("content", {}).get("bench_seq")
                    if isinstance(n, int) and n not in arrived:
                        arrived[n] = now
                        wake.setdefault(n, asyncio.Event()).set()

        receiving = asyncio.create_task(receive(first["next_batch"]))
        latencies: list[float] = []
        try:
            for n in range(-warmup, messages):
                await asyncio.sleep(gap)
                event = wake.setdefault(n, asyncio.Event())
                start = time.perf_counter()
                await sender.send(room, text(f"fan-out message {n}", bench_seq=n))
                await asyncio.wait_for(event.wait(), timeout=30)
                if n >= 0:
                    latencies.append((arrived[n] - start) * 1000)
        finally:
            receiving.cancel()
            await asyncio.gather(receiving, return_exceptions=True)
    finally:
        await asyncio.gather(sender.close(), receiver.close())
    return Result(
        "fanout p50",
        percentile(latencies, 50),
        "ms",
        targets.fanout_p50,
        higher_is_better=False,
        details={
            "p95_ms": percentile(latencies, 95),
            "max_ms": max(latencies),
            "messages": messages,
        },
    )


async def initsync(
    base_url: str, targets: Targets, *, rooms: int = 50, per_room: int = 20, repeats: int = 5
) -> Result:
    """One user in ``rooms`` rooms of ``per_room`` messages each: an initial /sync
    with a filter the server has not seen, ``repeats`` times (each with a new
    filter); the figure is the median."""
    user = await _user(base_url, "initsync", connections=8)
    try:
        # Created one after another, as a person would: the setup is not measured.
        room_ids = [
            await user.create_room(preset="private_chat", name=f"room {i}") for i in range(rooms)
        ]

        async def fill(room: str) -> None:
            for i in range(per_room):
                await user.send(room, text(f"history {i}"))

        await asyncio.gather(*(fill(r) for r in room_ids))
        timings: list[float] = []
        for _ in range(repeats):
            # A type nobody sends makes each filter new to the server and changes nothing.
            fresh = {
                "room": {"timeline": {"limit": 10, "not_types": [f"bench.{uuid.uuid4().hex}"]}}
            }
            start = time.perf_counter()
            answer = await user.sync(filter_json=fresh)
            timings.append((time.perf_counter() - start) * 1000)
            seen = len(answer.get("rooms", {}).get("join", {}))
            if seen != rooms:
                raise AssertionError(f"initial sync returned {seen} joined rooms, not {rooms}")
    finally:
        await user.close()
    return Result(
        "initsync",
        percentile(timings, 50),
        "ms",
        targets.initsync,
        higher_is_better=False,
        details={
            "first_ms": timings[0],
            "max_ms": max(timings),
            "rooms": rooms,
            "messages_per_room": per_room,
        },
    )


SCENARIOS: dict[str, Scenario] = {
    "seq": seq,
    "conc": conc,
    "conc32": conc_members,
    "fanout": fanout,
    "initsync": initsync,
    "keys": keys,
    "media": media,
}
