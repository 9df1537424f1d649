"""``unread_notifications`` and ``unread_thread_notifications`` of the joined
rooms in a sync response (counts: ``tessera.query.push``).

With ``room.timeline.unread_thread_notifications`` the room's counts cover the
main timeline only and each thread with something unread gets its own entry,
keyed by its root's event ID; without it the room's counts cover every thread.
"""

from __future__ import annotations

from typing import Any

from tessera.query.push import Counts, unread_counts

from .context import SyncContext

MAIN = "main"


def add_unread_counts(ctx: SyncContext, join: dict[str, Any]) -> None:
    """Fill in each joined room section's counts (blocking: one or two statements)."""
    if not join:
        return
    counts = unread_counts(ctx.store.db, ctx.user_id, sorted(join), ctx.upto)
    threaded = ctx.filter.timeline.unread_thread_notifications
    for room_id, section in join.items():
        room = counts[room_id]
        if not threaded:
            section["unread_notifications"] = room.total.as_json()
            continue
        section["unread_notifications"] = room.threads.get(MAIN, Counts()).as_json()
        threads = {
            thread_id: c.as_json()
            for thread_id, c in room.threads.items()
            if thread_id != MAIN and (c.notifications or c.highlights)
        }
        if threads:
            section["unread_thread_notifications"] = threads
