"""History visibility rules (spec: "Room History Visibility"), table-driven.

One timeline: the room's visibility is set at position 1, then messages at
10, 25, 35, 45 around the user's own membership changes at 20 (invite), 30
(join) and 40 (leave), as each scenario has them.
"""

from __future__ import annotations

import pytest

from tessera.query.visibility import END, RoomVisibility, allowed, visible_ranges

MESSAGES = (10, 25, 35, 45)
SCENARIOS: dict[str, list[tuple[int, str]]] = {
    "joined_later": [(30, "join")],
    "invited_then_joined": [(20, "invite"), (30, "join")],
    "left": [(30, "join"), (40, "leave")],
    "invited": [(20, "invite")],
    "never_joined": [],
}
EVERYTHING = set(MESSAGES)
EXPECTED: dict[str, dict[str, set[int]]] = {
    "world_readable": {name: EVERYTHING for name in SCENARIOS},
    "shared": {
        "joined_later": EVERYTHING,
        "invited_then_joined": EVERYTHING,
        "left": {10, 25, 35},
        "invited": set(),
        "never_joined": set(),
    },
    "invited": {
        "joined_later": {35, 45},
        "invited_then_joined": {25, 35, 45},
        "left": {35},
        "invited": {25, 35, 45},
        "never_joined": set(),
    },
    "joined": {
        "joined_later": {35, 45},
        "invited_then_joined": {35, 45},
        "left": {35},
        "invited": set(),
        "never_joined": set(),
    },
}
CASES = [
    (visibility, scenario, expected)
    for visibility, by_scenario in EXPECTED.items()
    for scenario, expected in by_scenario.items()
]


def view(visibility: list[tuple[int, str]], membership: list[tuple[int, str]]) -> RoomVisibility:
    return RoomVisibility.build("!r:hs", "@u:hs", visibility, membership)


@pytest.mark.parametrize(("visibility", "scenario", "expected"), CASES)
def test_messages_visible_per_visibility_and_membership(
    visibility: str, scenario: str, expected: set[int]
) -> None:
    v = view([(1, visibility)], SCENARIOS[scenario])
    assert {p for p in MESSAGES if v.is_visible(p)} == expected


@pytest.mark.parametrize(("visibility", "scenario", "expected"), CASES)
def test_the_sql_ranges_say_the_same(visibility: str, scenario: str, expected: set[int]) -> None:
    v = view([(1, visibility)], SCENARIOS[scenario])
    inside = {p for p in MESSAGES if any(lo <= p <= hi for lo, hi in v.ranges)}
    assert inside == expected
    sql, params = v.sql()
    assert sql.count("?") == len(params)


def test_own_membership_events_are_visible_before_or_after() -> None:
    v = view([(1, "joined")], SCENARIOS["left"])
    assert v.is_visible(30)  # the join: after it, joined
    assert v.is_visible(40)  # the leave: before it, joined
    invited = view([(1, "joined")], SCENARIOS["invited_then_joined"])
    assert not invited.is_visible(20)  # an invite is no more than invited under "joined"
    assert view([(1, "invited")], SCENARIOS["invited"]).is_visible(20)


def test_a_visibility_change_is_visible_if_either_side_allows() -> None:
    opening = view([(1, "joined"), (50, "world_readable")], [])
    assert not opening.is_visible(45)
    assert opening.is_visible(50) and opening.is_visible(51)
    closing = view([(1, "world_readable"), (50, "joined")], [])
    assert closing.is_visible(49) and closing.is_visible(50)
    assert not closing.is_visible(51)


def test_unknown_or_missing_visibility_means_shared() -> None:
    assert visible_ranges([], [(30, "join")]) == [(0, END)]
    assert view([(1, "sometimes")], [(30, "join"), (40, "leave")]).is_visible(10)
    assert not view([(1, "sometimes")], [(30, "join"), (40, "leave")]).is_visible(45)


def test_rejoining_under_shared_reopens_the_gap() -> None:
    v = view([(1, "shared")], [(30, "join"), (40, "leave"), (60, "join")])
    assert v.is_visible(45)
    assert (
        view([(1, "joined")], [(30, "join"), (40, "leave"), (60, "join")]).is_visible(45) is False
    )


def test_membership_at_an_event_for_unsigned() -> None:
    v = view([], SCENARIOS["left"])
    assert [v.membership_at(p) for p in (10, 30, 35, 40, 45)] == [
        "leave", "join", "join", "leave", "leave",
    ]  # fmt: skip


def test_who_may_read_and_where_their_state_ends() -> None:
    assert not view([(1, "shared")], SCENARIOS["invited"]).may_read
    assert view([(1, "world_readable")], []).may_read
    left = view([(1, "shared")], SCENARIOS["left"])
    assert left.may_read and left.departure() == 40
    assert view([(1, "shared")], SCENARIOS["joined_later"]).departure() is None


@pytest.mark.parametrize(
    ("visibility", "membership", "joins_later", "expected"),
    [
        ("world_readable", None, False, True),
        ("joined", "join", False, True),
        ("shared", "leave", True, True),
        ("shared", "leave", False, False),
        ("invited", "invite", False, True),
        ("joined", "invite", True, False),
        ("shared", "ban", False, False),
    ],
)
def test_the_rules_one_by_one(
    visibility: str, membership: str | None, joins_later: bool, expected: bool
) -> None:
    assert allowed(visibility, membership, joins_later) is expected
