"""The ``push_actions`` projection's own cost per message, without a server.

    python -m bench.push_projection [--postgres]  (PostgreSQL: TESSERA_TEST_POSTGRES)

A room with ``--members`` local members (display names set, default rules)
gets ``--messages`` messages from its members in turn; the projection applies
them in batches of ``--batch`` through the runner, as a worker does, once with
evaluation and once without (``push_evaluation: false``). Prints milliseconds
per message for each, alternating runs (docs/notifications.md, "Cost").
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import time
from collections.abc import Iterator

from tessera.app.readdb import PostgresReadModels, SQLiteReadModels
from tessera.projections.push_actions import PushActionsProjection
from tessera.projections.runner import ProjectionRunner
from tessera.schema import accounts
from tessera.schema.log import LogRecord, NewRecord
from tessera.schema.readmodel import ReadModelDatabase
from tests.room_script import ALICE, MemoryLog, RoomScript
from tests.services import POSTGRES_URL, postgres_schema


def _log(members: int, messages: int) -> tuple[list[LogRecord], int]:
    log = MemoryLog()
    users = [ALICE] + [f"@m{i}:hs" for i in range(members - 1)]
    registered = accounts.encode(accounts.Registered(None, False, 1))
    for user in users:
        log.append(NewRecord(user, 1, accounts.Registered.KIND, registered))
    room = RoomScript(log)
    for user in users[1:]:
        room.join(user, displayname=f"Member {user[2:-3]}")
    setup = len(log.records)
    for i in range(messages):
        room.send(users[i % len(users)], f"message number {i}")
    return log.records, setup


@contextlib.contextmanager
def _database(postgres: bool) -> Iterator[ReadModelDatabase]:
    if postgres:
        with postgres_schema() as schema:
            pg = PostgresReadModels(POSTGRES_URL, schema=schema)
            try:
                yield pg
            finally:
                pg.close()
        return
    with tempfile.TemporaryDirectory() as directory:
        lite = SQLiteReadModels(os.path.join(directory, "read.db"))
        try:
            yield lite
        finally:
            lite.close()


def per_message(
    records: list[LogRecord], setup: int, *, evaluate: bool, postgres: bool, batch: int
) -> float:
    with _database(postgres) as db:
        runner = ProjectionRunner(db, PushActionsProjection(evaluate=evaluate))
        runner.setup()
        runner.process(records[:setup])
        measured = records[setup:]
        start = time.perf_counter()
        for i in range(0, len(measured), batch):
            runner.process(measured[i : i + batch])
        return (time.perf_counter() - start) / len(measured) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.push_projection")
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--members", type=int, default=32)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    records, setup = _log(args.members, args.messages)
    figures: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(args.runs):
        for evaluate in (True, False):
            cost = per_message(
                records, setup, evaluate=evaluate, postgres=args.postgres, batch=args.batch
            )
            figures[evaluate].append(cost)
    for evaluate, values in figures.items():
        label = "evaluation on " if evaluate else "evaluation off"
        runs = ", ".join(f"{v:.3f}" for v in values)
        print(f"{label}: median {statistics.median(values):.3f} ms/message ({runs})")


if __name__ == "__main__":
    main()
