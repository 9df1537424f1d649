"""Opening the log and the read models from configuration.

No database URL: the embedded profile, SQLite files ``log.db`` and ``read.db``
in the data directory. A ``postgresql://`` URL: the scale profile, both in that
database; a ``schema=NAME`` query parameter puts them in that PostgreSQL schema
(which must exist) instead of the search path's first.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tessera.app.eventstore import open_postgres, open_sqlite
from tessera.app.readdb import PostgresReadModels, SQLiteReadModels
from tessera.schema.log import EventStore
from tessera.schema.readmodel import ReadModelDatabase


def open_stores(
    database_url: str | None, data_dir: str | Path
) -> tuple[EventStore, ReadModelDatabase]:
    if not database_url:
        folder = Path(data_dir)
        folder.mkdir(parents=True, exist_ok=True)
        return open_sqlite(str(folder / "log.db")), SQLiteReadModels(str(folder / "read.db"))
    dsn, schema = split_schema(database_url)
    store = open_postgres(dsn, schema=schema)
    try:
        return store, PostgresReadModels(dsn, schema=schema)
    except BaseException:
        store.close()
        raise


def split_schema(database_url: str) -> tuple[str, str]:
    """The URL without its ``schema`` parameter, and that parameter ("" if absent)."""
    url = urlsplit(database_url)
    if url.scheme not in ("postgresql", "postgres"):
        raise ValueError(f"the database must be a postgresql:// URL, not {database_url!r}")
    query = parse_qsl(url.query)
    schema = next((value for key, value in query if key == "schema"), "")
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    return urlunsplit(url._replace(query=rest)), schema
