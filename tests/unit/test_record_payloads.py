"""The stored bytes of the schema's record kinds are pinned: logs already written
must decode, and a record encoded today must be byte-for-byte what it was."""

from __future__ import annotations

from typing import Any

import pytest

from tessera.schema import accounts as acc
from tessera.schema import directory as dr
from tessera.schema import media as md
from tessera.schema import pushers as pu
from tessera.schema import userdata as ud

H1, H2 = "ab" * 32, "cd" * 32

#: (record, its payload as stored). Keys come out sorted, nested ones too;
#: non-ASCII text is raw UTF-8.
ACCOUNT_CASES: list[tuple[Any, str]] = [
    (acc.Registered("$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", False, 1700000000000),
     '{"is_admin":false,"password_hash":"$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",'
     '"ts":1700000000000}'),
    (acc.Registered(None, True, 1), '{"is_admin":true,"password_hash":null,"ts":1}'),
    (acc.PasswordChanged("$argon2id$x", 2), '{"password_hash":"$argon2id$x","ts":2}'),
    (acc.Deactivated(3), '{"ts":3}'),
    (acc.AdminSet(True), '{"is_admin":true}'),
    (acc.DeviceAdded("DEV1", "Élément on Linux", 4),
     '{"device_id":"DEV1","display_name":"Élément on Linux","ts":4}'),
    (acc.DeviceRenamed("DEV1", None), '{"device_id":"DEV1","display_name":null}'),
    (acc.DeviceDeleted("DEV1"), '{"device_id":"DEV1"}'),
    (acc.TokenIssued(H1, "DEV1", None, 5),
     f'{{"device_id":"DEV1","expires_at":null,"token_sha256":"{H1}","ts":5}}'),
    (acc.TokenRevoked(H1), f'{{"token_sha256":"{H1}"}}'),
    (acc.RefreshTokenIssued(H2, "DEV1", H1),
     f'{{"device_id":"DEV1","refresh_sha256":"{H2}","token_sha256":"{H1}"}}'),
    (acc.RefreshTokenUsed(H2), f'{{"refresh_sha256":"{H2}"}}'),
    (acc.ProfileSet("displayname", "Alice ☕"), '{"field":"displayname","value":"Alice ☕"}'),
    (acc.DeviceSeen("DEV1", 6, "127.0.0.1"), '{"device_id":"DEV1","ip":"127.0.0.1","ts":6}'),
]  # fmt: skip

RECORD_CASES: list[tuple[Any, str]] = [
    (dr.AliasCreated("#a:hs", "!r:hs", "@alice:hs"),
     '{"alias":"#a:hs","creator":"@alice:hs","room_id":"!r:hs"}'),
    (dr.AliasDeleted("#a:hs", "!r:hs", "@bob:hs"),
     '{"alias":"#a:hs","deleted_by":"@bob:hs","room_id":"!r:hs"}'),
    (dr.VisibilitySet("!r:hs", "public", "@alice:hs"),
     '{"room_id":"!r:hs","set_by":"@alice:hs","visibility":"public"}'),
    (dr.RoomForgotten("!r:hs"), '{"room_id":"!r:hs"}'),
    (md.MediaCreated("abcDEF_-1", "@alice:hs", 7, 8),
     '{"created_ts":7,"expires_at":8,"media_id":"abcDEF_-1","user_id":"@alice:hs"}'),
    (md.MediaUploaded("abcDEF_-1", "@alice:hs", "image/png", 1234, "cat ☕.png", "00" * 32,
                      "blobs/ab/cd", 9),
     '{"blob":"blobs/ab/cd","content_type":"image/png","file_name":"cat ☕.png",'
     f'"media_id":"abcDEF_-1","sha256":"{"00" * 32}","size":1234,"uploaded_ts":9,'
     '"user_id":"@alice:hs"}'),
    (md.MediaUploaded("x", "@alice:hs", "application/octet-stream", 0, None, "11" * 32, "b", 10),
     '{"blob":"b","content_type":"application/octet-stream","file_name":null,"media_id":"x",'
     f'"sha256":"{"11" * 32}","size":0,"uploaded_ts":10,"user_id":"@alice:hs"}}'),
    (md.ThumbnailStored("abcDEF_-1", "32x32-crop", 32, 24, "image/jpeg", 99, "blobs/th"),
     '{"blob":"blobs/th","content_type":"image/jpeg","height":24,"media_id":"abcDEF_-1",'
     '"size":99,"spec":"32x32-crop","width":32}'),
    (pu.PusherSet("com.example", "key/1", "http", "App", "Phone", None, "en",
                  {"url": "https://push.example/_matrix/push/v1/notify",
                   "format": "event_id_only", "n": 0.5}, 11),
     '{"app_display_name":"App","app_id":"com.example","data":{"format":"event_id_only",'
     '"n":0.5,"url":"https://push.example/_matrix/push/v1/notify"},'
     '"device_display_name":"Phone","kind":"http","lang":"en","profile_tag":null,'
     '"pushkey":"key/1","ts":11}'),
    (pu.PusherSet("com.example", "key/2", "http", "App", "Phone", "tag", "de", {}, 12),
     '{"app_display_name":"App","app_id":"com.example","data":{},"device_display_name":"Phone",'
     '"kind":"http","lang":"de","profile_tag":"tag","pushkey":"key/2","ts":12}'),
    (pu.PusherRemoved("com.example", "key/1", "deleted"),
     '{"app_id":"com.example","pushkey":"key/1","reason":"deleted"}'),
    (ud.AccountDataSet(None, "m.direct", {"@b:hs": ["!r:hs"], "@a:hs": []}),
     '{"content":{"@a:hs":[],"@b:hs":["!r:hs"]},"room_id":null,"type":"m.direct"}'),
    (ud.AccountDataSet("!r:hs", "m.tag", {"tags": {"u.work": {"order": 0.5}}}),
     '{"content":{"tags":{"u.work":{"order":0.5}}},"room_id":"!r:hs","type":"m.tag"}'),
    (ud.FilterCreated("0", {"room": {"timeline": {"limit": 10}}, "event_fields": ["content.body"]}),
     '{"filter":{"event_fields":["content.body"],"room":{"timeline":{"limit":10}}},'
     '"filter_id":"0"}'),
    (ud.PushRulesSet({"override": [], "defaults": {".m.rule.master": {"enabled": True}}}),
     '{"rules":{"defaults":{".m.rule.master":{"enabled":true}},"override":[]}}'),
    (ud.ReceiptSent("!r:hs", "$e", "m.read", None, 13),
     '{"event_id":"$e","receipt_type":"m.read","room_id":"!r:hs","thread_id":null,"ts":13}'),
    (ud.ReceiptSent("!r:hs", "$e", "m.read.private", "$root", 14),
     '{"event_id":"$e","receipt_type":"m.read.private","room_id":"!r:hs","thread_id":"$root",'
     '"ts":14}'),
]  # fmt: skip


@pytest.mark.parametrize(("record", "stored"), ACCOUNT_CASES)
def test_account_records_keep_their_bytes(record: acc.AccountRecord, stored: str) -> None:
    assert acc.encode(record) == stored.encode()
    assert acc.decode(record.KIND, stored.encode()) == record


@pytest.mark.parametrize(("record", "stored"), RECORD_CASES)
def test_records_keep_their_bytes(record: Any, stored: str) -> None:
    assert record.encode() == stored.encode()
    assert type(record).decode(stored.encode()) == record


def test_every_account_kind_is_pinned() -> None:
    assert {type(r).KIND for r, _ in ACCOUNT_CASES} == acc.KINDS


def test_canonical_records_refuse_floats() -> None:
    """Accounts and the directory are canonical JSON (no floats); the others are not."""
    with pytest.raises(ValueError):
        acc.encode(acc.DeviceSeen("DEV1", 1.5, "::1"))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        dr.RoomForgotten(0.5).encode()  # type: ignore[arg-type]
