"""Protocol-kernel benchmark: PDU building, auth checks, state resolution.

Run with ``make bench`` (or ``python -m bench.kernel [--only NAME]``). The process
pins itself to one CPU core so figures mean "per core". Each scenario prints one
line: name, work done, wall time, rate.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from typing import Any

from tessera.kernel.auth import auth_types_for_event, check_auth
from tessera.kernel.builder import build_pdu
from tessera.kernel.events import Event, StateKey
from tessera.kernel.room_versions import RoomVersion, room_version
from tessera.kernel.signing import SigningKey
from tessera.kernel.state_res import EventSource, MappingEventSource, resolve_state

Scenario = Callable[[], tuple[int, str]]
"""Runs once; returns (units of work, unit name)."""
StateMap = dict[StateKey, str]


def bench_build(n: int = 20_000) -> tuple[int, str]:
    """Build, canonicalise, hash, sign and compute the ID of ``n`` message PDUs."""
    rv = room_version("12")
    key = SigningKey.generate("bench")
    prev = "$" + "A" * 43
    auth = ["$" + "B" * 43, "$" + "C" * 43, "$" + "D" * 43]
    for i in range(n):
        build_pdu(
            rv,
            room_id="!" + "R" * 43,
            sender="@alice:bench.example",
            event_type="m.room.message",
            content={"msgtype": "m.text", "body": f"message number {i} with some text"},
            prev_events=[prev],
            auth_events=auth,
            depth=i + 10,
            origin_server_ts=1_700_000_000_000 + i,
            signing_key=key,
        )
    return n, "PDUs"


def _auth_workload(rv_id: str, members: int) -> tuple[dict[StateKey, Event], list[Event]]:
    """A room of ``members`` joined users (20 of them with levels, public join rule) and
    the events to check: 80% messages, 10% joins of newcomers, 5% leaves, 5% topics.

    Events carry explicit IDs: the scenario measures the rules, not hashing.
    """
    rv = room_version(rv_id)
    v12 = rv.room_id_is_create_event_id
    room_id = "!" + "C" * 43 if v12 else "!room:bench.example"
    users = [f"@user{i}:server{i % 50}.example" for i in range(members)]
    creator = users[0]
    state: dict[StateKey, Event] = {}
    counter = 0

    def event(etype: str, sender: str, content: dict[str, Any], key: str | None) -> Event:
        nonlocal counter
        counter += 1
        pdu: dict[str, Any] = {
            "type": etype,
            "sender": sender,
            "content": content,
            "room_id": room_id,
            "prev_events": ["$" + "P" * 43],
            "depth": counter,
            "origin_server_ts": 1_700_000_000_000 + counter,
        }
        if key is not None:
            pdu["state_key"] = key
        wanted = auth_types_for_event(Event(pdu, rv, event_id="$proto"))
        pdu["auth_events"] = [state[k].event_id for k in wanted if k in state]
        return Event(pdu, rv, event_id=f"${counter:043d}")

    create_pdu: dict[str, Any] = {
        "type": "m.room.create",
        "sender": creator,
        "state_key": "",
        "content": {"room_version": rv_id, "creator": creator},
        "prev_events": [],
        "auth_events": [],
        "depth": 1,
        "origin_server_ts": 1_700_000_000_000,
    }
    if not v12:
        create_pdu["room_id"] = room_id
    create = Event(create_pdu, rv, event_id="$" + "C" * 43)
    state[("m.room.create", "")] = create
    levels = {u: 50 for u in users[1:20]}
    if not rv.privileged_creators:
        levels[creator] = 100
    initial = [
        event("m.room.member", creator, {"membership": "join"}, creator),
        event(
            "m.room.power_levels",
            creator,
            {"users": levels, "events": {"m.room.name": 50, "m.room.power_levels": 100}},
            "",
        ),
        event("m.room.join_rules", creator, {"join_rule": "public"}, ""),
    ]
    initial += [event("m.room.member", u, {"membership": "join"}, u) for u in users[1:]]
    for ev in initial:
        state[ev.state_entry] = ev
    work: list[Event] = []
    for i in range(1000):
        user = users[(i * 7919) % members]
        kind = i % 20
        if kind < 16:
            body = {"msgtype": "m.text", "body": f"message {i}"}
            work.append(event("m.room.message", user, body, None))
        elif kind < 18:
            newcomer = f"@new{i}:elsewhere.example"
            work.append(event("m.room.member", newcomer, {"membership": "join"}, newcomer))
        elif kind == 18:
            work.append(event("m.room.member", user, {"membership": "leave"}, user))
        else:
            work.append(event("m.room.topic", users[1 + i % 19], {"topic": f"t{i}"}, ""))
    return state, work


def bench_auth(n: int = 100_000) -> tuple[int, str]:
    """Auth-check ``n`` events (v12) as the command side does: select the auth state
    from a 1,000-member room's state, then apply the auth rules."""
    state, work = _auth_workload("12", 1_000)
    create_key: StateKey = ("m.room.create", "")
    create = state[create_key]
    for i in range(n):
        # A fresh wrapper a check, as for a newly built or received event (nothing cached).
        proto = work[i % len(work)]
        ev = Event(proto.pdu, proto.room_version, event_id=proto.event_id)
        auth = {k: state[k] for k in auth_types_for_event(ev) if k in state}
        auth[create_key] = create
        check_auth(ev, auth)
    return n, "checks"


def _state_res_forks(rv_id: str, n: int) -> tuple[RoomVersion, list[StateMap], EventSource]:
    """A room of ``n`` members and two forks that conflict on every member and the power levels.

    Fork A: Alice promotes a member, then every member changes their display
    name. Fork B: half the members change their display name and Alice bans the
    other half (power events, sorted and replayed first). Events carry explicit
    IDs: the scenario measures resolution, not hashing.
    """
    rv = room_version(rv_id)
    v12 = rv.room_id_is_create_event_id
    alice, member, power = "@alice:bench.example", "m.room.member", "m.room.power_levels"
    events: dict[str, Event] = {}

    def add(eid: str, what: tuple[str, str, str], content: Any, auth: list[str]) -> str:
        etype, sender, state_key = what
        pdu: dict[str, Any] = {
            "type": etype,
            "sender": sender,
            "state_key": state_key,
            "content": content,
            "auth_events": [a for a in auth if not (v12 and a == "$CREATE")],
            "prev_events": ["$CREATE"] if eid == "$MA" else [],  # only the first join's matter
            "depth": len(events) + 1,
            "origin_server_ts": 1_700_000_000_000 + len(events),
        }
        if not (v12 and etype == "m.room.create"):
            pdu["room_id"] = "!CREATE" if v12 else "!room:bench.example"
        events[eid] = Event(pdu, rv, eid)
        return eid

    users: dict[str, int] = {} if rv.privileged_creators else {alice: 100}
    add("$CREATE", ("m.room.create", alice, ""), {"room_version": rv_id, "creator": alice}, [])
    add("$MA", (member, alice, alice), {"membership": "join"}, ["$CREATE"])
    add("$PL", (power, alice, ""), {"users": users}, ["$CREATE", "$MA"])
    add("$JR", ("m.room.join_rules", alice, ""), {"join_rule": "public"}, ["$CREATE", "$PL", "$MA"])
    common: StateMap = {(events[e].type, ""): e for e in ("$CREATE", "$PL", "$JR")}
    common[(member, alice)] = "$MA"
    uids = [f"@user{i}:bench.example" for i in range(n)]
    for i, uid in enumerate(uids):
        joined = {"membership": "join"}
        common[(member, uid)] = add(f"$J{i}", (member, uid, uid), joined, ["$CREATE", "$PL", "$JR"])
    fork_a, fork_b = dict(common), dict(common)
    promoted = {"users": {**users, uids[0]: 50}}
    fork_a[(power, "")] = add("$PA", (power, alice, ""), promoted, ["$CREATE", "$PL", "$MA"])
    for i, uid in enumerate(uids):
        renamed = {"membership": "join", "displayname": f"a{i}"}
        auth = ["$CREATE", "$PA", "$JR", f"$J{i}"]
        fork_a[(member, uid)] = add(f"$A{i}", (member, uid, uid), renamed, auth)
        if i % 2:
            auth = ["$CREATE", "$PL", "$MA", f"$J{i}"]
            banned = add(f"$X{i}", (member, alice, uid), {"membership": "ban"}, auth)
            fork_b[(member, uid)] = banned
        else:
            renamed = {"membership": "join", "displayname": f"b{i}"}
            auth = ["$CREATE", "$PL", "$JR", f"$J{i}"]
            fork_b[(member, uid)] = add(f"$B{i}", (member, uid, uid), renamed, auth)
    return rv, [fork_a, fork_b], MappingEventSource(events)


def _bench_state_res(rv_id: str, n: int = 1_000, rounds: int = 5) -> tuple[int, str]:
    rv, forks, source = _state_res_forks(rv_id, n)
    for _ in range(rounds):
        resolved = resolve_state(rv, forks, source)
    banned = sum(1 for v in resolved.values() if v.startswith("$X"))
    assert banned == n // 2, f"{banned} bans resolved, expected {n // 2}"
    return rounds, "resolutions"


def bench_state_res() -> tuple[int, str]:
    """Resolve two forks with 1,000 conflicted state entries, v2.1 (room version 12)."""
    return _bench_state_res("12")


def bench_state_res_v2() -> tuple[int, str]:
    """The same two forks in room version 11 (state resolution v2)."""
    return _bench_state_res("11")


SCENARIOS: dict[str, Scenario] = {
    "build": bench_build,
    "auth": bench_auth,
    "state_res": bench_state_res,
    "state_res_v2": bench_state_res_v2,
}


def _pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to core {core}"
    return "not pinned"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=sorted(SCENARIOS), action="append")
    args = parser.parse_args(argv)
    print(f"# {platform.python_implementation()} {platform.python_version()}, {_pin_to_one_core()}")
    for name in args.only or list(SCENARIOS):
        start = time.perf_counter()
        units, unit = SCENARIOS[name]()
        elapsed = time.perf_counter() - start
        print(f"{name:12} {units:>8} {unit:10} {elapsed:8.3f} s {units / elapsed:12,.0f} {unit}/s")


if __name__ == "__main__":
    main()
