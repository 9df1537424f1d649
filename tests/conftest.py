"""Shared test configuration."""

from __future__ import annotations

import asyncio
import datetime
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
PDU_CORPUS = SHARED / "fixtures" / "pdu-corpus"


@pytest.fixture(scope="session")
def pdu_corpus_dir() -> Path:
    if not PDU_CORPUS.is_dir():
        pytest.fail(f"the PDU corpus is missing at {PDU_CORPUS}")
    return PDU_CORPUS


#: JetStream streams the tests and benchmarks create (tests/e2e/harness.py
#: scale_names, tests/contract, bench/server.py), with or without the
#: integrations role's ``_EVENTS`` suffix.
_TEST_STREAM = re.compile(
    r"^(T_?[0-9A-Fa-f]{8,}|TR[0-9A-Fa-f]+|I[0-9A-Fa-f]{8,}|BENCH_[0-9A-F]+)(_EVENTS)?$"
)
#: Older than this, a test stream belongs to no run still going: an interrupted
#: run's leftovers, swept so they never fill the NATS server's storage.
_STALE = datetime.timedelta(hours=1)


async def _sweep_stale_streams() -> None:
    import nats

    from tests.services import NATS_URL

    try:
        nc = await nats.connect(NATS_URL, connect_timeout=2, max_reconnect_attempts=0)
    except Exception:
        return  # no NATS here: the scale tests say so themselves
    try:
        js = nc.jetstream()
        now = datetime.datetime.now(datetime.UTC)
        for info in await js.streams_info():
            created = info.created
            if not _TEST_STREAM.match(info.config.name or "") or created is None:
                continue
            if now - created > _STALE:
                await js.delete_stream(info.config.name or "")
    finally:
        await nc.close()


@pytest.fixture(scope="session", autouse=True)
def _no_stale_test_streams() -> None:
    asyncio.run(_sweep_stale_streams())
