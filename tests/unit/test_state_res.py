"""State resolution v2 (room version 11) and v2.1 (room version 12) on drawn room graphs.

Each case draws forks from the initial events (see ``state_dsl``) and checks the
full resolved state at END, key by key, in both algorithms. The MSC4297 cases
give the resolution a stale state set, as a server gets from a partial
``/state`` answer, and show where v2 resets state and v2.1 does not.
"""

from __future__ import annotations

import pytest

from tessera.kernel.events import StateKey
from tessera.kernel.room_versions import RoomVersion, room_version
from tessera.kernel.state_res import MappingEventSource, resolve_state

from .state_dsl import (
    ALICE,
    BOB,
    CHARLIE,
    EVELYN,
    JR_KEY,
    PL_KEY,
    TOPIC_KEY,
    Draft,
    RoomGraph,
    ban,
    build,
    event_id,
    expected_state,
    join,
    join_rules,
    kick,
    leave,
    member_key,
    name_of,
    pl,
    topic,
)

V2 = room_version("11")
V2_1 = room_version("12")
BOTH = pytest.mark.parametrize("rv", [V2, V2_1], ids=["v2", "v2.1"])

Case = tuple[list[Draft], list[str], set[str], set[StateKey]]

CASES: dict[str, Case] = {
    # Alice bans Bob while Bob (on another fork) re-sends the power levels: the
    # ban sorts first (Alice's power is greater) so Bob's power levels fail.
    "ban_vs_power_levels": (
        [
            pl("PA", ALICE, {ALICE: 100, BOB: 50}),
            join("MA", ALICE),
            ban("MB", ALICE, BOB),
            pl("PB", BOB, {ALICE: 100, BOB: 50}),
        ],
        ["END MB MA PA START", "END PB PA"],
        {"PA", "MA", "MB"},
        set(),
    ),
    # The same with Bob's power levels sent first: power, not time, orders the
    # replay, so Alice's ban still comes before them.
    "ban_vs_earlier_power_levels": (
        [
            pl("PA", ALICE, {ALICE: 100, BOB: 50}),
            join("MA", ALICE),
            pl("PB", BOB, {ALICE: 100, BOB: 50}),
            ban("MB", ALICE, BOB),
        ],
        ["END MB MA PA START", "END PB PA"],
        {"PA", "MA", "MB"},
        set(),
    ),
    # Evelyn joins a public room while Alice makes it invite-only: the join
    # rules are a power event, replayed first, and the join then fails.
    "join_rules_vs_later_join": (
        [join_rules("JR", ALICE, "invite"), join("ME", EVELYN)],
        ["END JR START", "END ME START"],
        {"JR"},
        set(),
    ),
    # Charlie, promoted by Bob, lowers himself: a chain of power levels on one
    # fork against the older power levels on the other; the chain replays in order.
    "offtopic_power_levels": (
        [
            pl("PA", ALICE, {ALICE: 100, BOB: 50}),
            pl("PB", BOB, {ALICE: 100, BOB: 50, CHARLIE: 50}),
            pl("PC", CHARLIE, {ALICE: 100, BOB: 50, CHARLIE: 0}),
        ],
        ["END PC PB PA START", "END PA"],
        {"PC"},
        set(),
    ),
    # Alice demotes Bob (PA2) concurrently with Bob's power levels and topic:
    # Bob's events fail against the resolved power levels, Alice's topic stays.
    "topic_basic": (
        [
            topic("T1", ALICE),
            pl("PA1", ALICE, {ALICE: 100, BOB: 50}),
            topic("T2", ALICE),
            pl("PA2", ALICE, {ALICE: 100, BOB: 0}),
            pl("PB", BOB, {ALICE: 100, BOB: 50}),
            topic("T3", BOB),
        ],
        ["END PA2 T2 PA1 T1 START", "END T3 PB PA1"],
        {"PA2", "T2"},
        set(),
    ),
    # Bob's topic T2 loses to Alice's older T1: Bob is banned on the other fork,
    # and the topic falls back to T1 rather than to no topic at all.
    "topic_reset": (
        [
            topic("T1", ALICE),
            pl("PA", ALICE, {ALICE: 100, BOB: 50}),
            topic("T2", BOB),
            ban("MB", ALICE, BOB),
        ],
        ["END MB T2 PA T1 START", "END T1"],
        {"T1", "MB", "PA"},
        set(),
    ),
    # T4 is newer than T3 but cites an older power levels event on the mainline
    # of the resolved power levels (PA2), so it sorts first and T3 wins.
    "mainline_sort": (
        [
            topic("T1", ALICE),
            pl("PA1", ALICE, {ALICE: 100, BOB: 50}),
            topic("T2", ALICE),
            pl(
                "PA2",
                ALICE,
                {ALICE: 100, BOB: 50},
                events={"m.room.power_levels": 100},
            ),
            pl("PB", BOB, {ALICE: 100, BOB: 50}),
            topic("T3", BOB),
            topic("T4", ALICE),
        ],
        ["END T3 PA2 T2 PA1 T1 START", "END T4 PB PA1"],
        {"T3", "PA2"},
        set(),
    ),
    # Three forks: PA is in two of the three auth chains, so in the auth
    # difference; Bob, kicked on one fork, loses the topic he set on another.
    "auth_difference_three_forks": (
        [
            pl("PA", ALICE, {ALICE: 100, BOB: 50}),
            topic("TB", BOB),
            kick("KB", ALICE, BOB),
            topic("T0", ALICE),
        ],
        ["END TB PA START", "END KB PA", "END T0 START"],
        {"PA", "KB", "T0"},
        set(),
    ),
}


@BOTH
@pytest.mark.parametrize("case", list(CASES))
def test_classic_conflicts(rv: RoomVersion, case: str) -> None:
    drafts, edges, names, absent = CASES[case]
    room = build(rv, drafts, edges)
    resolved = room.names(room.state_before["END"])
    assert resolved == expected_state(room, names, absent)


@pytest.mark.parametrize("version", ["2", "3", "4", "5", "6", "7", "8", "9", "10"])
@pytest.mark.parametrize("case", list(CASES))
def test_classic_conflicts_in_older_v2_room_versions(version: str, case: str) -> None:
    # v2 references events as [id, hashes] pairs; v2–v10 name the creator in the
    # create event's content, which the ordering reads when power levels are missing.
    drafts, edges, names, absent = CASES[case]
    room = build(room_version(version), drafts, edges)
    assert room.names(room.state_before["END"]) == expected_state(room, names, absent)


def _resolve(room: RoomGraph, *state_sets: dict[StateKey, str]) -> dict[StateKey, str]:
    return room.names(resolve_state(room.rv, state_sets, room.source))


def _problem_a(rv: RoomVersion) -> tuple[RoomGraph, dict[StateKey, str]]:
    """MSC4297 problem A: a stale join rules event in one state set.

    Alice makes the room invite-only (JR), then leaves. Both state sets agree
    Alice left; one of them still names the initial join rules.
    """
    room = build(rv, [join_rules("JR", ALICE, "invite"), leave("LA", ALICE)], ["END LA JR START"])
    honest = room.state_after["LA"]
    stale = {**honest, JR_KEY: event_id("IJR")}
    return room, _resolve(room, honest, stale)


def test_v2_resets_the_join_rules_when_the_unconflicted_state_says_alice_left() -> None:
    room, resolved = _problem_a(V2)
    # Both join rules events are replayed on "Alice has left": both fail.
    assert resolved == expected_state(room, {"LA"}, absent={JR_KEY})


def test_v2_1_replays_the_join_rules_on_their_own_auth_events() -> None:
    room, resolved = _problem_a(V2_1)
    assert resolved == expected_state(room, {"LA", "JR"})


def _problem_b(rv: RoomVersion) -> tuple[RoomGraph, dict[StateKey, str]]:
    """MSC4297 problem B: a stale power levels event in one state set.

    Alice promotes Bob (P1), Bob promotes Charlie (P2), Charlie sets a topic.
    The stale state set has Charlie's topic but the initial power levels, so P1
    is in both auth chains and drops out of the auth difference.
    """
    room = build(
        rv,
        [
            pl("P1", ALICE, {ALICE: 100, BOB: 50}),
            pl("P2", BOB, {ALICE: 100, BOB: 50, CHARLIE: 50}),
            topic("TC", CHARLIE),
        ],
        ["END TC P2 P1 START"],
    )
    honest = room.state_after["TC"]
    stale = {**honest, PL_KEY: event_id("IPOWER")}
    return room, _resolve(room, honest, stale)


def test_v2_loses_bobs_promotion_of_charlie_without_the_promotion_of_bob() -> None:
    room, resolved = _problem_b(V2)
    # P2 is replayed right after IPOWER, where Bob has no power: it fails.
    assert resolved == expected_state(room, {"TC", "IPOWER"})


def test_v2_1_replays_the_conflicted_subgraph_between_the_power_levels() -> None:
    room, resolved = _problem_b(V2_1)
    assert resolved == expected_state(room, {"TC", "P2"})


@BOTH
def test_unconflicted_states_resolve_to_themselves_without_reading_events(
    rv: RoomVersion,
) -> None:
    state = {PL_KEY: "$P", TOPIC_KEY: "$T"}
    assert resolve_state(rv, [state, dict(state)], MappingEventSource({})) == state
    assert resolve_state(rv, [state], MappingEventSource({})) == state
    assert resolve_state(rv, [], MappingEventSource({})) == {}


@BOTH
def test_events_the_source_lacks_drop_out_of_the_conflicted_set(rv: RoomVersion) -> None:
    room = build(rv, [topic("T1", ALICE)], ["END T1 START"])
    with_topic = room.state_after["T1"]
    ghost = {**with_topic, TOPIC_KEY: "$GHOST"}
    resolved = _resolve(room, with_topic, ghost)
    assert resolved[TOPIC_KEY] == "T1"


@BOTH
def test_a_rejected_auth_event_is_not_used_by_the_iterative_checks(rv: RoomVersion) -> None:
    # ME (Evelyn's join) is checked against its own auth events for the join
    # rules only if the partial state has none; with the join rules conflicted
    # away and IJR marked rejected, nothing allows the join.
    room = build(rv, [join("ME", EVELYN)], ["END ME START"])
    joined = room.state_after["ME"]
    without = {k: v for k, v in room.state_after["START"].items() if k != JR_KEY}
    kept = {k: v for k, v in joined.items() if k != JR_KEY}
    sets = [kept, without]
    accepted = resolve_state(rv, sets, room.source)
    assert accepted.get(member_key(EVELYN)) == "$ME"
    rejecting = MappingEventSource(room.events, rejected={"$IJR"})
    assert member_key(EVELYN) not in resolve_state(rv, sets, rejecting)


def test_room_version_1_is_not_implemented() -> None:
    with pytest.raises(NotImplementedError):
        resolve_state(room_version("1"), [{PL_KEY: "$a"}, {PL_KEY: "$b"}], MappingEventSource({}))


@BOTH
@pytest.mark.parametrize("case", list(CASES))
def test_the_order_of_the_state_sets_does_not_matter(rv: RoomVersion, case: str) -> None:
    drafts, edges, _, _ = CASES[case]
    room = build(rv, drafts, edges)
    prevs = [name_of(p) for p in room.events[event_id("END")].prev_event_ids]
    sets = [room.state_after[p] for p in prevs]
    forward = resolve_state(rv, sets, room.source)
    assert len(sets) >= 2
    assert resolve_state(rv, sets[::-1], room.source) == forward
