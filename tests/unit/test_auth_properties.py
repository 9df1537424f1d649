"""Properties of the auth rules over many power-level settings (hypothesis)."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.kernel.auth import (
    AuthError,
    check_auth,
    is_creator,
    required_power_level,
    user_power_level,
)
from tests.unit.test_auth_rooms import ALICE, BOB, CAROL, DAVE, PL_KEY, VERSIONS, Room

versions = st.sampled_from(VERSIONS)
levels = st.integers(min_value=-10, max_value=120)
MAX = 2**53 - 1


def allowed(room: Room, event: Any) -> bool:
    try:
        room.check(event)
    except AuthError:
        return False
    return True


@settings(max_examples=150, deadline=None)
@given(version=versions, own=levels, new=levels, send=levels)
def test_nobody_raises_their_own_level(version: str, own: int, new: int, send: int) -> None:
    room = Room(version)
    events = {**room.state[PL_KEY].content["events"], "m.room.power_levels": send}
    room.set_levels(users=room.users(carol=own), events=events)
    event = room.power_levels(CAROL, users=room.users(carol=new))
    assert user_power_level(CAROL, room.state) == own
    assert allowed(room, event) == (own >= send and new <= own)


@settings(max_examples=150, deadline=None)
@given(version=versions, sender=levels, target=levels, kick=levels, ban=levels)
def test_changing_anothers_membership_needs_power(
    version: str, sender: int, target: int, kick: int, ban: int
) -> None:
    room = Room(version)
    room.set_levels(users=room.users(bob=sender, carol=target), kick=kick, ban=ban)
    above = target < sender
    assert allowed(room, room.member(BOB, CAROL, "leave")) == (sender >= kick and above)
    assert allowed(room, room.member(BOB, CAROL, "ban")) == (sender >= ban and above)
    # Nobody sets another user's membership to join, whatever their level.
    assert not allowed(room, room.member(BOB, CAROL, "join"))


@settings(max_examples=100, deadline=None)
@given(version=versions, sender=levels, needed=levels, state_default=levels)
def test_state_needs_the_required_level(
    version: str, sender: int, needed: int, state_default: int
) -> None:
    room = Room(version)
    events = {**room.state[PL_KEY].content["events"], "m.room.name": needed}
    room.set_levels(users=room.users(carol=sender), events=events, state_default=state_default)
    assert required_power_level("m.room.name", True, room.state) == needed
    assert required_power_level("m.room.topic", True, room.state) == state_default
    name = room.state_event("m.room.name", CAROL, {"name": "n"})
    topic = room.state_event("m.room.topic", CAROL, {"topic": "t"})
    assert allowed(room, name) == (sender >= needed)
    assert allowed(room, topic) == (sender >= state_default)


@settings(max_examples=60, deadline=None)
@given(level=st.integers(min_value=-MAX, max_value=MAX), extra=st.booleans())
def test_v12_creators_outrank_every_level(level: int, extra: bool) -> None:
    room = Room("12", create_content={"additional_creators": [DAVE]} if extra else None)
    room.set_levels(users=room.users(bob=level), kick=-MAX, ban=-MAX)
    assert is_creator(ALICE, room.state)
    assert is_creator(DAVE, room.state) == extra
    assert user_power_level(ALICE, room.state) > level
    assert not allowed(room, room.member(BOB, ALICE, "ban"))
    assert not allowed(room, room.member(BOB, ALICE, "leave"))
    assert allowed(room, room.member(ALICE, BOB, "ban"))
    assert allowed(room, room.power_levels(ALICE, users=room.users(bob=MAX)))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
content_keys = st.sampled_from(
    [
        "membership",
        "users",
        "events",
        "notifications",
        "ban",
        "kick",
        "users_default",
        "third_party_invite",
        "join_authorised_via_users_server",
        "join_rule",
        "signed",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    version=versions,
    etype=st.sampled_from(["m.room.member", "m.room.power_levels", "m.room.join_rules"]),
    sender=st.sampled_from([ALICE, BOB, CAROL, DAVE]),
    state_key=st.sampled_from(["", ALICE, CAROL, DAVE, None]),
    content=st.dictionaries(content_keys, json_values, max_size=4),
)
def test_hostile_content_is_only_ever_rejected_cleanly(
    version: str, etype: str, sender: str, state_key: str | None, content: dict[str, Any]
) -> None:
    room = Room(version)
    event = room.event(etype, sender, content, state_key)
    # Any other exception (TypeError on a list where a dict was expected…) fails the test.
    with contextlib.suppress(AuthError):
        check_auth(event, room.auth_state(event))
