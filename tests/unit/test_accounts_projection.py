"""The accounts projection as a pure fold, and applied to a real read model."""

from __future__ import annotations

from pathlib import Path

from tessera.app.readdb import SQLiteReadModels
from tessera.command.accounts import Account
from tessera.projections import accounts as projection
from tessera.projections.runner import ProjectionRunner
from tessera.query import accounts as q
from tessera.schema import accounts as rec
from tessera.schema.log import LogRecord

ALICE = "@alice:hs"


def log_of(*events: rec.AccountRecord, stream: str = ALICE, start: int = 1) -> list[LogRecord]:
    return [
        LogRecord(start + i, stream, start + i, e.KIND, rec.encode(e)) for i, e in enumerate(events)
    ]


HISTORY = log_of(
    rec.Registered("hash1", False, 10),
    rec.DeviceAdded("DEV1", "phone", 11),
    rec.TokenIssued(rec.token_hash("tok1"), "DEV1", None, 11),
    rec.DeviceAdded("DEV2", None, 12),
    rec.TokenIssued(rec.token_hash("tok2"), "DEV2", 99, 12),
    rec.RefreshTokenIssued(rec.token_hash("ref2"), "DEV2", rec.token_hash("tok2")),
    rec.ProfileSet("displayname", "Alice"),
    rec.TokenRevoked(rec.token_hash("tok1")),
    rec.DeviceDeleted("DEV1"),
    rec.PasswordChanged("hash2", 13),
    rec.AdminSet(True),
)


def test_apply_is_pure_and_ignores_other_kinds() -> None:
    assert projection.apply(LogRecord(1, "!room:hs", 1, "m.pdu", b"{}")) == []
    first = projection.apply(HISTORY[0])
    assert first == projection.apply(HISTORY[0])
    assert "INSERT INTO accounts_users" in first[0].statement


def test_read_model_after_the_history(tmp_path: Path) -> None:
    db = SQLiteReadModels(str(tmp_path / "read.db"))
    runner = ProjectionRunner(db, projection)
    runner.setup()
    assert runner.process(HISTORY) == len(HISTORY)

    user = q.get_user(db, ALICE)
    assert user is not None
    assert (user.password_hash, user.is_admin, user.deactivated) == ("hash2", True, False)
    assert q.get_profile(db, ALICE) == {"displayname": "Alice"}
    assert q.get_profile(db, "@nobody:hs") is None
    assert [d.device_id for d in q.list_devices(db, ALICE)] == ["DEV2"]
    assert q.refresh_token_owner(db, rec.token_hash("ref2")) == ALICE
    assert q.admins(db) == {ALICE}

    rows = {r.token_sha256: r for r in q.tokens_after(db, 0)}
    assert rows[rec.token_hash("tok1")].revoked
    assert rows[rec.token_hash("tok1")].position == 8  # moved: incremental readers see it
    assert not rows[rec.token_hash("tok2")].revoked
    assert rows[rec.token_hash("tok2")].expires_at == 99
    assert [r.token_sha256 for r in q.tokens_after(db, 5)] == [rec.token_hash("tok1")]

    tail = log_of(rec.Deactivated(20), start=len(HISTORY) + 1)
    runner.process(tail)
    user = q.get_user(db, ALICE)
    assert user is not None and user.deactivated and user.password_hash is None
    db.close()


def test_the_aggregate_and_the_projection_agree(tmp_path: Path) -> None:
    """Folding the same records, the command side and the read side see the same devices."""
    account = Account(ALICE)
    for record in HISTORY:
        account.apply(record)
    db = SQLiteReadModels(str(tmp_path / "read.db"))
    runner = ProjectionRunner(db, projection)
    runner.setup()
    runner.process(HISTORY)
    assert sorted(account.devices) == [d.device_id for d in q.list_devices(db, ALICE)]
    live = {r.token_sha256 for r in q.tokens_after(db, 0) if not r.revoked}
    assert set(account.tokens) == live
    db.close()
