"""Room summaries (``m.heroes``, ``m.joined_member_count``, ``m.invited_member_count``).

Heroes are the first five members by the order their membership reached the
room (stream order), joined or invited, never the syncing user; when there are
none, the ones who left or were banned, so a client can still name an
abandoned room ("Empty room (was Alice)").
"""

from __future__ import annotations

from typing import Any

from .store import SyncStore

MAX_HEROES = 5


def room_summary(store: SyncStore, room_id: str, user_id: str, upto: int) -> dict[str, Any]:
    members = store.memberships(room_id, upto)
    joined = [u for u, m, _ in members if m == "join"]
    invited = [u for u, m, _ in members if m == "invite"]
    active = [u for u, m, _ in members if m in ("join", "invite") and u != user_id]
    heroes = active or [u for u, m, _ in members if m in ("leave", "ban") and u != user_id]
    return {
        "m.heroes": heroes[:MAX_HEROES],
        "m.joined_member_count": len(joined),
        "m.invited_member_count": len(invited),
    }
