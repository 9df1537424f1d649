"""fold: a pure projection's changes go out in order, runs of one statement together."""

from __future__ import annotations

from typing import Any

from tessera.projections.runner import fold
from tessera.schema.log import LogRecord
from tessera.schema.readmodel import Change, Params


class Recorder:
    """A transaction that records what it is asked to execute."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []

    def execute(self, statement: str, params: Params = ()) -> None:
        self.calls.append(("one", statement, tuple(params)))

    def executemany(self, statement: str, params: list[Params]) -> None:
        self.calls.append(("many", statement, [tuple(p) for p in params]))

    def fetchall(self, statement: str, params: Params = ()) -> list[tuple[Any, ...]]:
        raise AssertionError("a pure projection reads nothing")

    def fetchone(self, statement: str, params: Params = ()) -> tuple[Any, ...] | None:
        raise AssertionError("a pure projection reads nothing")


class Pure:
    name = "pure"
    tables = ("t",)
    migrations = ()

    def apply(self, record: LogRecord) -> list[Change]:
        n = record.position
        if record.kind == "a":
            return [Change("INSERT A", (n,))]
        return [Change("UPDATE B", (n,)), Change("INSERT A", (n, "b"))]


def records(*kinds: str) -> list[LogRecord]:
    return [LogRecord(i, "s", i, kind, b"{}") for i, kind in enumerate(kinds, start=1)]


def test_runs_of_one_statement_become_one_executemany_in_order() -> None:
    tx = Recorder()
    last, wrote = fold(tx, Pure(), records("a", "a", "b", "a", "a"), tracked=0)  # type: ignore[arg-type]
    assert (last, wrote) == (5, True)
    assert tx.calls == [
        ("many", "INSERT A", [(1,), (2,)]),
        ("one", "UPDATE B", (3,)),
        ("many", "INSERT A", [(3, "b"), (4,), (5,)]),
    ]


def test_records_at_or_below_the_tracked_position_are_skipped() -> None:
    tx = Recorder()
    assert fold(tx, Pure(), records("a", "a", "a"), tracked=2) == (3, True)  # type: ignore[arg-type]
    assert tx.calls == [("one", "INSERT A", (3,))]
    tx = Recorder()
    assert fold(tx, Pure(), records("a", "a"), tracked=2) == (2, False)  # type: ignore[arg-type]
    assert tx.calls == []
