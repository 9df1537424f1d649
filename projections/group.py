"""A group of projections fed together: one read-model transaction per batch for all of them.

Each projection keeps its own tracking row; the group writes every member's
changes *and* every member's new position in one transaction (DESIGN invariant
4 holds per projection: its rows and its position commit or roll back
together). A record at or below a member's tracked position is skipped for that
member alone, so a projection added to the group later starts from 0 and
catches up while the others skip what they have (the worker reads the log from
the lowest member's position).

Why groups: with one worker per projection, every record cost every projection
a write transaction of its own (on SQLite, a turn at the single write lock; on
PostgreSQL, a pooled connection and a commit), even the many projections that
ignore the record and only move their position. In a group a projection with
nothing to write costs a pure ``apply`` call, and all positions move with one
``UPDATE … WHERE name IN (…)``.

On PostgreSQL the members' tracking rows are locked (``FOR UPDATE``, in name
order so two groups sharing a member cannot deadlock) at the start of the
transaction: copies of one group worker serialize instead of applying a batch twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from tessera.projections.runner import TRACKING_DDL, Projection, fold
from tessera.schema.bus import applied_topic
from tessera.schema.log import LogRecord
from tessera.schema.readmodel import ReadModelDatabase

#: The group name a process running every registered projection uses (its
#: durable consumer's name on the bus).
ALL = "projections"


@dataclasses.dataclass(frozen=True, slots=True)
class GroupApplied:
    #: Every member's tracked position after the batch.
    positions: dict[str, int]
    #: The members that wrote at least one change in the batch.
    changed: frozenset[str]

    @property
    def low(self) -> int:
        """The position every member has applied."""
        return min(self.positions.values())


class ProjectionGroup:
    def __init__(
        self, db: ReadModelDatabase, projections: Sequence[Projection], *, name: str | None = None
    ) -> None:
        if not projections:
            raise ValueError("a projection group needs at least one projection")
        names = [p.name for p in projections]
        if len(set(names)) != len(names):
            raise ValueError(f"a projection appears twice in the group: {names}")
        for member in names:
            applied_topic(member)  # validates the name
        self.db = db
        self.projections = tuple(projections)
        self.names = tuple(names)
        #: The group's name: its durable consumer's name and its signal's topic.
        self.name = name or (names[0] if len(names) == 1 else ALL)
        applied_topic(self.name)
        marks = ", ".join("?" * len(names))
        lock = " FOR UPDATE" if db.dialect == "postgresql" else ""
        self._select = (
            f"SELECT name, position FROM projection_tracking WHERE name IN ({marks})"
            f" ORDER BY name{lock}"
        )
        self._sorted = tuple(sorted(names))

    def setup(self) -> None:
        """Create every member's tables and tracking row (one transaction)."""
        with self.db.migration() as tx:
            tx.execute(TRACKING_DDL)
            for projection in self.projections:
                for statement in projection.migrations:
                    tx.execute(statement)
            for member in self.names:
                tx.execute(
                    "INSERT INTO projection_tracking (name, position) VALUES (?, 0)"
                    " ON CONFLICT (name) DO NOTHING",
                    (member,),
                )

    def positions(self) -> dict[str, int]:
        found = {
            str(n): int(p)
            for n, p in self.db.iter_rows(self._select.removesuffix(" FOR UPDATE"), self._sorted)
        }
        return {member: found.get(member, 0) for member in self.names}

    def process(self, records: Sequence[LogRecord]) -> GroupApplied:
        """Apply, for each member, the records it has not applied yet."""
        with self.db.transaction() as tx:
            tracked = {str(n): int(p) for n, p in tx.fetchall(self._select, self._sorted)}
            positions: dict[str, int] = {}
            moved: dict[int, list[str]] = {}
            changed: set[str] = set()
            for projection in self.projections:
                start = tracked.get(projection.name, 0)
                last, wrote = fold(tx, projection, records, start)
                positions[projection.name] = last
                if last != start:
                    moved.setdefault(last, []).append(projection.name)
                if wrote:
                    changed.add(projection.name)
            for position, members in moved.items():
                tx.execute(
                    "UPDATE projection_tracking SET position = ?"
                    f" WHERE name IN ({', '.join('?' * len(members))})",
                    (position, *members),
                )
        return GroupApplied(positions, frozenset(changed))
