"""State resolution on randomly grown rooms: properties every resolution must have.

Seeded, so a failure names the seed that reproduces it.
"""

from __future__ import annotations

import random

import pytest

from tessera.kernel.room_versions import RoomVersion, room_version
from tessera.kernel.state_res import resolve_state

from .state_dsl import (
    ALICE,
    BOB,
    CHARLIE,
    EVELYN,
    ZARA,
    Draft,
    RoomGraph,
    ban,
    join,
    join_rules,
    kick,
    leave,
    pl,
    topic,
)

BOTH = pytest.mark.parametrize("rv", [room_version("11"), room_version("12")], ids=["v2", "v2.1"])


def _random_room(rv: RoomVersion, seed: int) -> tuple[RoomGraph, list[str]]:
    """A room grown at random: forks, merges, and a mix of power and ordinary events."""
    rng = random.Random(seed)
    people = [ALICE, BOB, CHARLIE, ZARA]

    def draft(name: str) -> Draft:
        sender = rng.choice(people)
        target = rng.choice([*people, EVELYN])
        level = rng.choice([0, 50, 100])
        return rng.choice(
            [
                topic(name, sender),
                topic(name, sender),
                pl(name, sender, {ALICE: 100, BOB: level, CHARLIE: rng.choice([0, 50])}),
                ban(name, sender, target),
                kick(name, sender, target),
                join(name, target),
                leave(name, sender),
                join_rules(name, sender, rng.choice(["public", "invite"])),
            ]
        )

    room = RoomGraph.initial(rv)
    tips = ["START"]
    placed = ["START"]
    for i in range(rng.randint(6, 16)):
        name = f"E{i}"
        roll = rng.random()
        if roll < 0.2 and len(tips) >= 2:
            prev = rng.sample(tips, 2)
            tips = [t for t in tips if t not in prev]
        elif roll < 0.45:
            prev = [rng.choice(placed)]
        else:
            prev = [tips.pop(rng.randrange(len(tips)))]
        room.add(draft(name), prev)
        tips.append(name)
        placed.append(name)
    return room, tips


@BOTH
@pytest.mark.parametrize("seed", range(25))
def test_random_forks_resolve_independently_of_order_and_keep_the_agreed_state(
    rv: RoomVersion, seed: int
) -> None:
    room, tips = _random_room(rv, seed)
    sets = [room.state_after[t] for t in tips] + [room.state_after["START"]]
    resolved = resolve_state(rv, sets, room.source)
    rng = random.Random(seed)
    for _ in range(3):
        shuffled = rng.sample(sets, len(sets))
        assert resolve_state(rv, shuffled, room.source) == resolved
    agreed = {k: v for k, v in sets[0].items() if all(s.get(k) == v for s in sets)}
    assert agreed.items() <= resolved.items()
    # Resolving a state with itself changes nothing.
    assert resolve_state(rv, [resolved, dict(resolved)], room.source) == resolved
