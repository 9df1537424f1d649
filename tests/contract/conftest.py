"""Contract suites run once per profile: embedded (SQLite) and scale (PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tessera.app.eventstore import EventStore, open_postgres, open_sqlite
from tessera.app.readdb import PostgresReadModels, SQLiteReadModels
from tessera.schema.readmodel import ReadModelDatabase
from tests.services import POSTGRES_URL, postgres_schema


@pytest.fixture(params=["sqlite", "postgres"])
def event_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    if request.param == "sqlite":
        store = open_sqlite(str(tmp_path / "log.db"))
        yield store
        store.close()
    else:
        with postgres_schema() as schema:
            store = open_postgres(POSTGRES_URL, schema=schema)
            yield store
            store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def read_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReadModelDatabase]:
    db: ReadModelDatabase
    if request.param == "sqlite":
        db = SQLiteReadModels(str(tmp_path / "read.db"))
        yield db
        db.close()
    else:
        with postgres_schema() as schema:
            db = PostgresReadModels(POSTGRES_URL, schema=schema)
            yield db
            db.close()
