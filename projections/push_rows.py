"""The results of push rule evaluation (projection ``push_actions``), as rows.

- ``push_room_actions (room_id, position, event_id, thread_id, sender, notify,
  highlight, actions, ts)``: one row per event, the outcome shared by the
  local members evaluated for it (``tessera.kernel.push.room``): it applies to
  each local member whose ``push_windows`` window holds ``position``, except
  the sender and the members with a row of their own below. Written when the
  shared outcome notifies or highlights, and also (as ``0, 0, '[]'``) when
  only exceptions exist, so that a redaction finds the event's position by
  its ID through this table alone.
- ``push_user_actions (user_id, room_id, position, event_id, thread_id, notify,
  highlight, actions, ts)``: a member whose outcome differs from the shared
  one (a mention, a muted room, rules of their own; ``0, 0`` when the shared
  outcome notifies and theirs does not), and a local invitee notified of
  their invite.
- ``push_own_reads (room_id, user_id, thread_id, position)``: a user's own
  event reads the room for them (``''``: the main timeline reads the whole
  room; a thread root's ID: that thread).

``thread_id`` is the thread root's event ID, or ``main``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tessera.kernel.push import Actions
from tessera.schema.readmodel import Change, Transaction

MAIN = "main"
TABLES = ("push_room_actions", "push_user_actions", "push_own_reads")
MIGRATIONS = (
    # The model before shared rows: one row per member and event. Rebuild
    # ``push_actions`` (tessera replay push_actions) after upgrading.
    "DROP TABLE IF EXISTS event_push_actions",
    "CREATE TABLE IF NOT EXISTS push_room_actions ("
    " room_id TEXT NOT NULL, position BIGINT NOT NULL, event_id TEXT NOT NULL,"
    " thread_id TEXT NOT NULL, sender TEXT NOT NULL, notify SMALLINT NOT NULL,"
    " highlight SMALLINT NOT NULL, actions TEXT NOT NULL, ts BIGINT NOT NULL,"
    " PRIMARY KEY (room_id, position))",
    "CREATE INDEX IF NOT EXISTS push_room_actions_event ON push_room_actions (event_id)",
    "CREATE TABLE IF NOT EXISTS push_user_actions ("
    " user_id TEXT NOT NULL, room_id TEXT NOT NULL, position BIGINT NOT NULL,"
    " event_id TEXT NOT NULL, thread_id TEXT NOT NULL, notify SMALLINT NOT NULL,"
    " highlight SMALLINT NOT NULL, actions TEXT NOT NULL, ts BIGINT NOT NULL,"
    " PRIMARY KEY (position, user_id))",
    "CREATE INDEX IF NOT EXISTS push_user_actions_user"
    " ON push_user_actions (user_id, room_id, position)",
    "CREATE TABLE IF NOT EXISTS push_own_reads ("
    " room_id TEXT NOT NULL, user_id TEXT NOT NULL, thread_id TEXT NOT NULL,"
    " position BIGINT NOT NULL, PRIMARY KEY (room_id, user_id, thread_id))",
)

#: Rows per statement (SQLite caps the number of parameters).
_ROWS = 1000
_ROOM_INSERT = (
    "INSERT INTO push_room_actions (room_id, position, event_id, thread_id, sender,"
    " notify, highlight, actions, ts) VALUES "
)
_USER_INSERT = (
    "INSERT INTO push_user_actions (user_id, room_id, position, event_id, thread_id,"
    " notify, highlight, actions, ts) VALUES "
)
_READS_UPSERT = "INSERT INTO push_own_reads (room_id, user_id, thread_id, position) VALUES "


@dataclasses.dataclass(frozen=True, slots=True)
class Evaluated:
    """The event an outcome belongs to, as its rows record it."""

    room_id: str
    position: int
    event_id: str
    thread_id: str
    sender: str
    ts: int


def _values(actions: Actions | None) -> tuple[int, int, str]:
    if actions is None:
        return 0, 0, "[]"
    return int(actions.notify), int(actions.highlight), actions.json


def _inserts(head: str, rows: list[tuple[Any, ...]], tail: str) -> list[Change]:
    """Multi-row statements, at most ``_ROWS`` rows each."""
    changes: list[Change] = []
    for start in range(0, len(rows), _ROWS):
        chunk = rows[start : start + _ROWS]
        marks = "(" + ", ".join("?" * len(chunk[0])) + ")"
        params = [value for row in chunk for value in row]
        changes.append(Change(head + ", ".join([marks] * len(chunk)) + tail, params))
    return changes


class HeldRows:
    """The result rows of the batch being applied. Nothing in the batch reads
    them back (a redaction of an event of the same batch looks here first), so
    they are written at its end as a few multi-row statements
    (``finish_batch``): on PostgreSQL one round trip per table and batch, not
    one per event."""

    def __init__(self) -> None:
        self._rooms: dict[tuple[str, str], tuple[Any, ...]] = {}
        self._users: dict[int, list[tuple[Any, ...]]] = {}
        self._reads: dict[tuple[str, str, str], int] = {}

    def clear(self) -> None:
        self._rooms.clear()
        self._users.clear()
        self._reads.clear()

    def outcome(
        self, at: Evaluated, shared: Actions | None, own: list[tuple[str, Actions | None]]
    ) -> None:
        """``shared`` applies to the members in their window; ``own``: members
        (and an invitee) with their own outcome."""
        self._rooms[at.room_id, at.event_id] = (
            at.room_id,
            at.position,
            at.event_id,
            at.thread_id,
            at.sender,
            *_values(shared),
            at.ts,
        )
        if own:
            event = (at.room_id, at.position, at.event_id, at.thread_id)
            self._users[at.position] = [
                (user_id, *event, *_values(actions), at.ts)
                for user_id, actions in sorted(own, key=lambda o: o[0])
            ]

    def own_read(self, room_id: str, user_id: str, thread_id: str, position: int) -> None:
        """A user's own event reads the room (main timeline) or its thread."""
        self._reads[room_id, user_id, "" if thread_id == MAIN else thread_id] = position

    def redact(self, room_id: str, event_id: str) -> bool:
        """Drops the rows of an event of this batch; False if it has none here."""
        row = self._rooms.pop((room_id, event_id), None)
        if row is None:
            return False
        self._users.pop(row[1], None)
        return True

    def changes(self) -> list[Change]:
        rooms = list(self._rooms.values())
        users = [row for rows in self._users.values() for row in rows]
        reads = [(*key, position) for key, position in self._reads.items()]
        self.clear()
        changes: list[Change] = []
        if rooms:
            changes += _inserts(_ROOM_INSERT, rooms, " ON CONFLICT DO NOTHING")
        if users:
            changes += _inserts(_USER_INSERT, users, " ON CONFLICT DO NOTHING")
        if reads:
            changes += _inserts(
                _READS_UPSERT,
                reads,
                " ON CONFLICT (room_id, user_id, thread_id)"
                " DO UPDATE SET position = excluded.position",
            )
        return changes


def redacted(tx: Transaction, room_id: str, event_id: str) -> list[Change]:
    """A redacted event notifies nobody any more: its rows go."""
    row = tx.fetchone(
        "SELECT position FROM push_room_actions WHERE event_id = ? AND room_id = ?",
        (event_id, room_id),
    )
    if row is None:
        return []
    position = int(row[0])
    return [
        Change(
            "DELETE FROM push_room_actions WHERE room_id = ? AND position = ?",
            (room_id, position),
        ),
        Change("DELETE FROM push_user_actions WHERE position = ?", (position,)),
    ]
