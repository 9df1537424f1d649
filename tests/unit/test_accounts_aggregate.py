"""The account aggregate as a pure fold: decisions in, records out, state after."""

from __future__ import annotations

import pytest

from tessera.command.accounts import Account, AccountError
from tessera.schema import accounts as rec
from tessera.schema.log import NewRecord

ALICE = "@alice:hs"
NOW = 1_000


def commit(account: Account, events: list[rec.AccountRecord]) -> list[NewRecord]:
    records = account.records(*events)
    for record in records:
        account.apply(record)
    return records


def session(
    account: Account,
    device: str,
    token: str,
    refresh: str | None = None,
    expires_at: int | None = None,
) -> list[rec.AccountRecord]:
    return account.session_records(
        device_id=device,
        display_name=None,
        token=token,
        expires_at=expires_at,
        refresh_token=refresh,
        now=NOW,
    )


def registered(with_device: str | None = "DEV1", token: str = "tok1") -> Account:
    account = Account(ALICE)
    commit(account, account.decide_register("hash1", False, NOW))
    if with_device:
        commit(
            account,
            account.session_records(
                device_id=with_device,
                display_name="phone",
                token=token,
                expires_at=None,
                refresh_token=None,
                now=NOW,
            ),
        )
    return account


def test_records_are_numbered_after_the_stream_version_and_round_trip() -> None:
    account = registered()
    records = account.records(
        rec.DeviceRenamed("DEV1", "tablet"), rec.ProfileSet("displayname", "A")
    )
    assert [r.version for r in records] == [account.stream_version + 1, account.stream_version + 2]
    assert [r.kind for r in records] == ["account.device_renamed", "account.profile_set"]
    assert rec.decode(records[0].kind, records[0].payload) == rec.DeviceRenamed("DEV1", "tablet")
    assert rec.decode("m.pdu", b"{}") is None


def test_register_twice_is_user_in_use() -> None:
    account = registered(with_device=None)
    assert account.exists and account.password_hash == "hash1"
    with pytest.raises(AccountError) as e:
        account.decide_register("hash2", False, NOW)
    assert (e.value.status, e.value.errcode) == (400, "M_USER_IN_USE")


def test_tokens_are_stored_only_as_hashes() -> None:
    account = registered(token="secret-token")
    assert list(account.tokens) == [rec.token_hash("secret-token")]
    assert "secret-token" not in repr(account.tokens)


def test_a_second_login_on_the_same_device_adds_no_device() -> None:
    account = registered()
    events = session(account, "DEV1", "tok2")
    assert [type(e) for e in events] == [rec.TokenIssued]


def test_logout_revokes_the_token_and_deletes_its_device_only() -> None:
    account = registered()
    commit(account, session(account, "DEV2", "tok2", refresh="ref2"))
    commit(account, account.decide_logout(rec.token_hash("tok2")))
    assert set(account.devices) == {"DEV1"}
    assert set(account.tokens) == {rec.token_hash("tok1")}
    assert account.refresh_tokens == {}
    assert account.decide_logout(rec.token_hash("unknown")) == []


def test_logout_all_leaves_nothing() -> None:
    account = registered()
    commit(account, session(account, "DEV2", "tok2"))
    commit(account, account.decide_logout_all())
    assert account.devices == {} and account.tokens == {}


def test_password_change_keeps_the_current_device_and_logs_out_others() -> None:
    account = registered()
    commit(account, session(account, "DEV2", "tok2"))
    commit(account, account.decide_password("hash2", "DEV1", True, NOW))
    assert account.password_hash == "hash2"
    assert set(account.devices) == {"DEV1"}
    commit(account, account.decide_password("hash3", "DEV1", False, NOW))
    assert set(account.devices) == {"DEV1"}


def test_login_refused_when_the_verified_hash_is_no_longer_current() -> None:
    account = registered()
    account.decide_login("hash1")
    commit(account, account.decide_password("hash2", None, False, NOW))
    with pytest.raises(AccountError) as e:
        account.decide_login("hash1")
    assert e.value.errcode == "M_FORBIDDEN"


def test_deactivation_clears_password_devices_and_profile() -> None:
    account = registered()
    commit(account, account.decide_profile("displayname", "Alice"))
    commit(account, account.decide_deactivate(NOW))
    assert account.deactivated and account.password_hash is None
    assert account.devices == {} and account.tokens == {}
    assert account.profile == {"displayname": None, "avatar_url": None}
    with pytest.raises(AccountError) as e:
        account.decide_profile("displayname", "Back")
    assert e.value.errcode == "M_USER_DEACTIVATED"


def test_device_rename_and_delete() -> None:
    account = registered()
    commit(account, account.decide_rename_device("DEV1", "laptop"))
    assert account.devices["DEV1"] == "laptop"
    assert account.decide_rename_device("DEV1", "laptop") == []
    with pytest.raises(AccountError) as e:
        account.decide_rename_device("NOPE", "x")
    assert e.value.status == 404
    commit(account, account.decide_delete_devices(["DEV1", "NOPE", "DEV1"]))
    assert account.devices == {} and account.tokens == {}


def test_refresh_rotates_both_tokens_once() -> None:
    account = registered(with_device=None)
    commit(account, session(account, "DEV1", "tok1", refresh="ref1", expires_at=NOW + 10))
    commit(account, account.decide_refresh(rec.token_hash("ref1"), "tok2", NOW + 20, "ref2", NOW))
    assert set(account.tokens) == {rec.token_hash("tok2")}
    assert account.tokens[rec.token_hash("tok2")].expires_at == NOW + 20
    assert set(account.refresh_tokens) == {rec.token_hash("ref2")}
    with pytest.raises(AccountError) as e:  # a refresh token works once
        account.decide_refresh(rec.token_hash("ref1"), "tok3", NOW, "ref3", NOW)
    assert e.value.errcode == "M_UNKNOWN_TOKEN"


def test_profile_set_only_when_it_changes() -> None:
    account = registered()
    commit(account, account.decide_profile("avatar_url", "mxc://hs/a"))
    assert account.decide_profile("avatar_url", "mxc://hs/a") == []
    with pytest.raises(AccountError):
        account.decide_profile("m.tz", "Europe/Paris")
