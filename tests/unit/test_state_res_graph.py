"""The graph steps of state resolution, on hand-drawn auth graphs (no auth rules involved)."""

from __future__ import annotations

from typing import Any

import pytest

from tessera.kernel.events import Event
from tessera.kernel.room_versions import room_version
from tessera.kernel.state_res.auth_chain import (
    auth_closure,
    auth_difference,
    conflicted_subgraph,
)
from tessera.kernel.state_res.conflicts import is_power_event, split_conflicts
from tessera.kernel.state_res.mainline import mainline_order
from tessera.kernel.state_res.ordering import (
    INFINITE_POWER,
    reverse_topological_power_order,
    sender_power,
)
from tessera.kernel.state_res.source import EventCache, MappingEventSource

V11 = room_version("11")
V12 = room_version("12")
ALICE, BOB, CAROL = "@alice:x.org", "@bob:x.org", "@carol:x.org"


class Graph:
    """Events named by their IDs, each citing the given auth events."""

    def __init__(self, rv: Any = V11) -> None:
        self.rv = rv
        self.events: dict[str, Event] = {}
        self.ts = 0

    def add(
        self,
        name: str,
        auth: tuple[str, ...] = (),
        *,
        type: str = "m.room.topic",
        sender: str = ALICE,
        state_key: str | None = "",
        content: dict[str, Any] | None = None,
        ts: int | None = None,
    ) -> str:
        self.ts += 1
        pdu: dict[str, Any] = {
            "type": type,
            "sender": sender,
            "content": content or {},
            "room_id": "!r:x.org",
            "auth_events": ["$" + a for a in auth],
            "prev_events": [],
            "origin_server_ts": self.ts if ts is None else ts,
            "depth": 1,
        }
        if state_key is not None:
            pdu["state_key"] = state_key
        self.events["$" + name] = Event(pdu, self.rv, "$" + name)
        return "$" + name

    def cache(self) -> EventCache:
        return EventCache(MappingEventSource(self.events))


def ids(*names: str) -> set[str]:
    return {"$" + n for n in names}


def test_split_puts_keys_missing_from_a_set_among_the_conflicts() -> None:
    a = {("t", ""): "$1", ("m", "@a"): "$2", ("x", ""): "$5"}
    b = {("t", ""): "$1", ("m", "@a"): "$3"}
    c = {("t", ""): "$1", ("m", "@a"): "$2", ("x", ""): "$5"}
    unconflicted, conflicted = split_conflicts([a, b, c])
    assert unconflicted == {("t", ""): "$1"}
    assert conflicted == {("m", "@a"): {"$2", "$3"}, ("x", ""): {"$5"}}


def test_power_events_are_power_levels_join_rules_kicks_and_bans() -> None:
    g = Graph()
    g.add("PL", type="m.room.power_levels")
    g.add("JR", type="m.room.join_rules")
    g.add("KICK", type="m.room.member", state_key=BOB, content={"membership": "leave"})
    g.add("BAN", type="m.room.member", state_key=BOB, content={"membership": "ban"})
    g.add("LEAVE", type="m.room.member", state_key=ALICE, content={"membership": "leave"})
    g.add("JOIN", type="m.room.member", state_key=BOB, content={"membership": "join"})
    g.add("TOPIC")
    g.add("MSG", type="m.room.power_levels", state_key=None)
    power = {n for n, e in g.events.items() if is_power_event(e)}
    assert power == ids("PL", "JR", "KICK", "BAN")


def test_auth_closure_walks_every_path_once_and_stops_where_told() -> None:
    g = Graph()
    g.add("C")
    g.add("A", ("C",))
    g.add("B", ("C", "A"))
    g.add("D", ("B", "A", "MISSING"))
    cache = g.cache()
    assert auth_closure(cache, ["$D"]) == ids("D", "B", "A", "C", "MISSING")
    assert auth_closure(cache, ["$D"], stop=ids("A")) == ids("D", "B", "C", "MISSING")


def test_auth_difference_of_three_forks_is_union_minus_intersection() -> None:
    # C ← P ← {X, Y};  C ← Q;  the unconflicted U cites C.
    g = Graph()
    g.add("C")
    g.add("U", ("C",))
    g.add("P", ("C",))
    g.add("Q", ("C",))
    g.add("X", ("P",))
    g.add("Y", ("P",))
    cache = g.cache()
    # Sets: {U, X}, {U, Y}, {U, Q}: P is in two chains of three, so in the difference.
    diff = auth_difference(cache, ["$U"], [ids("X"), ids("Y"), ids("Q")])
    assert diff == ids("X", "Y", "Q", "P")
    # With two sets sharing P, only the tips differ.
    assert auth_difference(cache, ["$U"], [ids("X"), ids("Y")]) == ids("X", "Y")


def test_auth_difference_ignores_what_the_unconflicted_state_already_cites() -> None:
    g = Graph()
    g.add("C")
    g.add("OLD", ("C",))
    g.add("U", ("OLD",))  # unconflicted, cites OLD: OLD is in every chain
    g.add("NEW", ("OLD",))
    cache = g.cache()
    assert auth_difference(cache, ["$U"], [ids("NEW"), ids("OLD")]) == ids("NEW")


def test_conflicted_subgraph_holds_the_events_between_conflicted_events() -> None:
    # C ← P1 ← P2 ← P3 (conflicted: P3 and P1); side branch S ← P2 is not between them.
    g = Graph()
    g.add("C")
    g.add("P1", ("C",))
    g.add("P2", ("C", "P1"))
    g.add("P3", ("C", "P2"))
    g.add("S", ("C", "P2"))
    g.add("LONE", ("C",))
    cache = g.cache()
    assert conflicted_subgraph(cache, ids("P3", "P1")) == ids("P3", "P2", "P1")
    assert conflicted_subgraph(cache, ids("P3", "LONE")) == ids("P3", "LONE")
    assert conflicted_subgraph(cache, ids("S", "P3", "P1")) == ids("S", "P3", "P2", "P1")


def _pl_graph(rv: Any = V11) -> Graph:
    g = Graph(rv)
    g.add("CREATE", type="m.room.create", sender=ALICE, content={})
    g.add(
        "PL",
        ("CREATE",),
        type="m.room.power_levels",
        content={"users": {ALICE: 100, BOB: "50"}, "users_default": 10},
    )
    return g


def test_sender_power_reads_the_events_own_power_levels() -> None:
    g = _pl_graph()
    g.add("BY_ALICE", ("CREATE", "PL"))
    g.add("BY_BOB", ("CREATE", "PL"), sender=BOB)
    g.add("BY_CAROL", ("CREATE", "PL"), sender=CAROL)
    g.add("NO_PL_ALICE", ("CREATE",))
    g.add("NO_PL_BOB", ("CREATE",), sender=BOB)
    cache = g.cache()
    power = {
        n: sender_power(V11, cache, g.events["$" + n])
        for n in ("BY_ALICE", "BY_BOB", "BY_CAROL", "NO_PL_ALICE", "NO_PL_BOB")
    }
    assert power == {
        "BY_ALICE": 100,
        "BY_BOB": 50,
        "BY_CAROL": 10,
        "NO_PL_ALICE": 100,
        "NO_PL_BOB": 0,
    }


def test_v12_creators_have_infinite_power_found_through_the_room_id() -> None:
    g = Graph(V12)
    g.add("CREATE", type="m.room.create", content={"additional_creators": [CAROL]})
    for e in g.events.values():
        e.pdu.pop("room_id")
    g.add("PL", type="m.room.power_levels", content={"users": {BOB: 50}})
    g.add("BY_ALICE", ("PL",))
    g.add("BY_CAROL", ("PL",), sender=CAROL)
    g.add("BY_BOB", ("PL",), sender=BOB)
    for name in ("PL", "BY_ALICE", "BY_CAROL", "BY_BOB"):
        g.events["$" + name].pdu["room_id"] = "!CREATE"
    cache = g.cache()
    assert sender_power(V12, cache, g.events["$BY_ALICE"]) == INFINITE_POWER
    assert sender_power(V12, cache, g.events["$BY_CAROL"]) == INFINITE_POWER
    assert sender_power(V12, cache, g.events["$BY_BOB"]) == 50


def test_reverse_topological_order_puts_auth_first_then_power_then_time_then_id() -> None:
    g = _pl_graph()
    g.add("B1", ("CREATE", "PL"), sender=BOB, ts=5)
    g.add("A1", ("CREATE", "PL"), sender=ALICE, ts=9)
    g.add("A2", ("CREATE", "PL", "B1"), sender=ALICE, ts=1)  # cites B1: must follow it
    g.add("C1", ("CREATE", "PL"), sender=CAROL, ts=1)
    g.add("C2", ("CREATE", "PL"), sender=CAROL, ts=1)
    cache = g.cache()
    full = ids("B1", "A1", "A2", "C1", "C2")
    order = reverse_topological_power_order(V11, cache, sorted(full), full)
    assert order == ["$A1", "$B1", "$A2", "$C1", "$C2"]


def test_reverse_topological_order_follows_auth_edges_within_the_full_conflicted_set() -> None:
    g = _pl_graph()
    g.add("J", ("CREATE", "PL"), type="m.room.member", sender=BOB, state_key=BOB)
    g.add("P2", ("CREATE", "PL", "J"), type="m.room.power_levels", sender=BOB)
    cache = g.cache()
    # J is not a power event but P2 cites it: it joins X and comes first.
    order = reverse_topological_power_order(V11, cache, ["$P2"], ids("J", "P2"))
    assert order == ["$J", "$P2"]
    # PL is not in the full conflicted set: it is not pulled in.
    assert "$PL" not in order


def test_mainline_order_sorts_by_mainline_depth_before_time() -> None:
    g = _pl_graph()
    g.add("PL2", ("CREATE", "PL"), type="m.room.power_levels")
    g.add("PL3", ("CREATE", "PL2"), type="m.room.power_levels")
    g.add("SIDE", ("CREATE", "PL"), type="m.room.power_levels")  # off the mainline, on PL
    g.add("T_PL3", ("CREATE", "PL3"), ts=1)
    g.add("T_PL2", ("CREATE", "PL2"), ts=50)
    g.add("T_SIDE", ("CREATE", "SIDE"), ts=40)
    g.add("T_PL_A", ("CREATE", "PL"), ts=30)
    g.add("T_PL_B", ("CREATE", "PL"), ts=30)
    g.add("T_NONE", ("CREATE",), ts=100)
    cache = g.cache()
    events = ["$T_PL3", "$T_PL2", "$T_SIDE", "$T_PL_A", "$T_PL_B", "$T_NONE"]
    order = mainline_order(cache, events, "$PL3")
    # No power levels at all first; then by mainline position (SIDE leads to
    # PL); equal positions by timestamp, then by event ID.
    assert order == ["$T_NONE", "$T_PL_A", "$T_PL_B", "$T_SIDE", "$T_PL2", "$T_PL3"]


def test_mainline_order_without_power_levels_is_by_time() -> None:
    g = _pl_graph()
    g.add("T1", ("CREATE", "PL"), ts=2)
    g.add("T2", ("CREATE",), ts=1)
    assert mainline_order(g.cache(), ["$T1", "$T2"], None) == ["$T2", "$T1"]


@pytest.mark.parametrize("names", [("A", "B"), ("B", "A")])
def test_event_cache_asks_the_source_once_per_event(names: tuple[str, str]) -> None:
    g = Graph()
    for n in names:
        g.add(n)
    asked: list[set[str]] = []

    class Counting(MappingEventSource):
        def get_events(self, event_ids: Any) -> Any:
            wanted = set(event_ids)
            asked.append(wanted)
            return super().get_events(wanted)

    cache = EventCache(Counting(g.events))
    cache.load(["$A", "$B", "$NOPE"])
    assert cache.get("$A") is g.events["$A"]
    assert cache.get("$NOPE") is None
    cache.load(["$A", "$NOPE"])
    assert asked == [{"$A", "$B", "$NOPE"}]
