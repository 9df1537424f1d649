"""Room summaries (``m.heroes``, ``m.joined_member_count``, ``m.invited_member_count``).

Heroes are the first five members by the order their membership reached the
room (stream order), joined or invited, never the syncing user; when there are
none, the ones who left or were banned, so a client can still name an
abandoned room ("Empty room (was Alice)").
"""

from __future__ import annotations

from typing import Any

MAX_HEROES = 5


def room_summary(members: list[tuple[str, str, int]], user_id: str) -> dict[str, Any]:
    """The summary from the room's ``(user_id, membership, position)`` in stream order."""
    joined = [u for u, m, _ in members if m == "join"]
    invited = [u for u, m, _ in members if m == "invite"]
    active = [u for u, m, _ in members if m in ("join", "invite") and u != user_id]
    heroes = active or [u for u, m, _ in members if m in ("leave", "ban") and u != user_id]
    return {
        "m.heroes": heroes[:MAX_HEROES],
        "m.joined_member_count": len(joined),
        "m.invited_member_count": len(invited),
    }
