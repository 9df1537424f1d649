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

_USER_COLUMNS = 9
_USER_INSERT = (
    "INSERT INTO push_user_actions (user_id, room_id, position, event_id, thread_id,"
    " notify, highlight, actions, ts) VALUES "
)
_USER_ROW = "(" + ", ".join("?" * _USER_COLUMNS) + ")"
#: Rows per statement (SQLite caps the number of parameters).
_ROWS = 1000


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


def room_row(at: Evaluated, actions: Actions | None) -> Change:
    return Change(
        "INSERT INTO push_room_actions (room_id, position, event_id, thread_id, sender,"
        " notify, highlight, actions, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (at.room_id, at.position, at.event_id, at.thread_id, at.sender, *_values(actions), at.ts),
    )


def user_rows(at: Evaluated, outcomes: list[tuple[str, Actions | None]]) -> list[Change]:
    """Statements inserting every member's own outcome (sorted by user, so they
    are the same whatever order the members came in)."""
    ordered = sorted(outcomes, key=lambda o: o[0])
    changes: list[Change] = []
    row = (at.room_id, at.position, at.event_id, at.thread_id)
    for start in range(0, len(ordered), _ROWS):
        chunk = ordered[start : start + _ROWS]
        params: list[Any] = []
        for user_id, actions in chunk:
            params += (user_id, *row, *_values(actions), at.ts)
        rows = ", ".join([_USER_ROW] * len(chunk))
        changes.append(Change(_USER_INSERT + rows + " ON CONFLICT DO NOTHING", params))
    return changes


def own_read(room_id: str, user_id: str, thread_id: str, position: int) -> Change:
    return Change(
        "INSERT INTO push_own_reads (room_id, user_id, thread_id, position)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (room_id, user_id, thread_id)"
        " DO UPDATE SET position = excluded.position",
        (room_id, user_id, "" if thread_id == MAIN else thread_id, position),
    )


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
