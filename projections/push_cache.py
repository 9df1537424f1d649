"""In-memory state of the ``push_actions`` projection: compiled rule templates
and a cache of each room's evaluation state, so a message costs no reads.

**Templates.** Every user on the server-default rules shares one compiled
ruleset, with the recipient left as the ``[the user's Matrix ID]``
placeholder; a user with their own document shares it with the users having
the same document. A document that itself contains the placeholder text is
compiled for its user alone (``merged_ruleset`` would put their user ID in
places the template keeps as literal text), so a template is always exactly
the user's own ruleset. Templates depend on the document text only: never stale.

**Rooms.** A room's joined members (with display names and rules), its create
and power levels events are what ``push_state`` holds for it; the cache keeps
them between records. It must never make the projection's output depend on
the process's history (another copy of the worker may have applied the
records in between; a replay starts from empty tables), so:

- it is only trusted while it was built at the position just before the
  batch: at the first record of each transaction the projection's tracked
  position is read, and if it is not the last position this cache saw, the
  cache is emptied (rooms are then read back from the tables, which hold
  exactly what the log implies up to that position);
- a record that changes what a room's entry holds (membership, power levels,
  create, a member's rules) evicts the entry: the next event reads the tables,
  after the runner executed that record's changes;
- a record whose processing fails empties it (its transaction rolls back).
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import orjson

from tessera.kernel.push import CompiledRuleset, compile_ruleset
from tessera.kernel.push.conditions import Recipient
from tessera.schema.push_rules import ME, merged_ruleset
from tessera.schema.readmodel import Transaction

from . import push_state
from .push_state import Member

#: A template: a rules document (None: the defaults), or a document and the
#: one user it is compiled for.
TemplateKey = str | tuple[str, str] | None


class Templates:
    def __init__(self, max_cached: int = 50_000) -> None:
        self._compiled: OrderedDict[TemplateKey, CompiledRuleset] = OrderedDict()
        self._max = max_cached

    @staticmethod
    def key(rules: str | None, user_id: str) -> TemplateKey:
        if rules is not None and ME in rules:
            return (rules, user_id)
        return rules

    def get(self, key: TemplateKey) -> CompiledRuleset:
        found = self._compiled.get(key)
        if found is not None:
            self._compiled.move_to_end(key)
            return found
        if isinstance(key, tuple):
            compiled = compile_ruleset(merged_ruleset(orjson.loads(key[0]), key[1]))
        else:
            document = orjson.loads(key) if key else None
            compiled = compile_ruleset(merged_ruleset(document, ME))
        self._compiled[key] = compiled
        while len(self._compiled) > self._max:
            self._compiled.popitem(last=False)
        return compiled


@dataclasses.dataclass(slots=True)
class RoomState:
    #: Joined members, local and remote.
    members: dict[str, Member]
    #: Local members by template.
    groups: list[tuple[TemplateKey, list[Recipient]]]
    create_event: str | None
    power_levels: str | None
    #: Per-room memos, valid as long as the entry (power levels evict it).
    memo: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def local_members(self) -> int:
        return sum(len(recipients) for _, recipients in self.groups)


def groups_of(members: Iterable[Member]) -> list[tuple[TemplateKey, list[Recipient]]]:
    """The local members, by the template they share."""
    groups: dict[TemplateKey, list[Recipient]] = {}
    for member in sorted(members, key=lambda m: m.user_id):
        if member.local:
            key = Templates.key(member.rules, member.user_id)
            groups.setdefault(key, []).append(Recipient(member.user_id, member.display_name))
    return list(groups.items())


def _room_from_tables(tx: Transaction, room_id: str) -> RoomState:
    view = push_state.load_room(tx, room_id)
    members = {m.user_id: m for m in view.members}
    return RoomState(members, groups_of(view.members), view.create_event, view.power_levels)


class PushCache:
    def __init__(self, name: str, *, max_rooms: int = 10_000) -> None:
        self._name = name
        self._max = max_rooms
        self._rooms: OrderedDict[str, RoomState] = OrderedDict()
        #: The last position this cache has seen applied.
        self._position = 0

    def start_batch(self, tracked: int) -> None:
        """At the start of a batch, trust the cache only if ``tracked`` (the
        position the batch's transaction found) is where this cache left off."""
        if tracked != self._position:
            self._rooms.clear()
            self._position = tracked

    def applied(self, position: int) -> None:
        self._position = position

    def invalidate(self) -> None:
        self._rooms.clear()
        self._position = -1

    def room(self, tx: Transaction, room_id: str) -> RoomState:
        found = self._rooms.get(room_id)
        if found is not None:
            self._rooms.move_to_end(room_id)
            return found
        found = self._rooms[room_id] = _room_from_tables(tx, room_id)
        while len(self._rooms) > self._max:
            self._rooms.popitem(last=False)
        return found

    def forget_room(self, room_id: str) -> None:
        self._rooms.pop(room_id, None)

    def forget_user(self, user_id: str) -> None:
        """The user's rules (or locality) changed: every room they are in."""
        for room_id in [r for r, state in self._rooms.items() if user_id in state.members]:
            del self._rooms[room_id]
