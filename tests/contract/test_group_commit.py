"""Group commit on both profiles: many rooms, one transaction; conflicts isolated."""

from __future__ import annotations

import asyncio

import pytest

from tessera.command.group_commit import GroupCommitter
from tessera.schema.log import EventStore, NewRecord, VersionConflict


def rec(stream: str, version: int) -> NewRecord:
    return NewRecord(stream, version, "m.pdu", b"{}")


async def test_concurrent_appends_share_transactions(event_store: EventStore) -> None:
    committer = GroupCommitter(event_store)
    results = await asyncio.gather(
        *(committer.append([rec(f"!room{i}", 1), rec(f"!room{i}", 2)]) for i in range(50))
    )
    assert committer.batches < 50
    positions = [p for r in results for p in r]
    assert len(set(positions)) == 100
    assert all(b == a + 1 for a, b in results)  # a submission's records stay together
    assert event_store.head() == max(positions)


async def test_a_conflict_fails_only_its_own_submission(event_store: EventStore) -> None:
    event_store.append([rec("!taken", 1)])
    committer = GroupCommitter(event_store)
    outcomes = await asyncio.gather(
        committer.append([rec("!a", 1)]),
        committer.append([rec("!taken", 1)]),
        committer.append([rec("!b", 1)]),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], VersionConflict)
    assert isinstance(outcomes[0], list) and isinstance(outcomes[2], list)
    assert {r.stream for r in event_store.read(0, 10)} == {"!taken", "!a", "!b"}


async def test_empty_append_is_a_no_op(event_store: EventStore) -> None:
    assert await GroupCommitter(event_store).append([]) == []


async def test_store_failure_reaches_every_waiter(event_store: EventStore) -> None:
    class Broken:
        def append(self, records: object) -> list[int]:
            raise OSError("disk on fire")

    committer = GroupCommitter(Broken())  # type: ignore[arg-type]
    results = await asyncio.gather(
        committer.append([rec("!a", 1)]), committer.append([rec("!b", 1)]), return_exceptions=True
    )
    assert all(isinstance(r, OSError) for r in results)
    with pytest.raises(OSError):
        await committer.append([rec("!c", 1)])
