"""Key commands: upload, claim, cross-signing, signatures, forgetting a device.

``KeyCommands`` is one instance per process (``Services.e2ee.keys``). Each call
checks the whole input first (bad input changes nothing), then appends through
the streams' repositories and returns the committed positions; handlers wait for
the projections before answering (invariant 3).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from tessera.schema import keys as k
from tessera.schema.log import EventStore, NewRecord

from .group_commit import GroupCommitter
from .keys import Signature, UserKeys
from .keys_otk import DeviceOneTimeKeys
from .keys_validate import (
    KeysRefused,
    bad_json,
    check_device_keys,
    check_one_time_keys,
    ed25519_public,
)
from .streams import StreamRepository

#: ``/keys/claim`` asks for at most this many devices' keys at once.
MAX_CLAIMS = 10_000
FALLBACK_FIELDS = ("fallback_keys", "org.matrix.msc2732.fallback_keys")


class KeyCommands:
    def __init__(self, store: EventStore, committer: GroupCommitter) -> None:
        self.users: StreamRepository[UserKeys] = StreamRepository(store, committer, UserKeys)
        self.otks: StreamRepository[DeviceOneTimeKeys] = StreamRepository(
            store, committer, DeviceOneTimeKeys
        )

    async def upload(
        self, user_id: str, device_id: str, body: dict[str, Any]
    ) -> tuple[list[int], dict[str, int]]:
        """``POST /keys/upload``: positions and the device's one-time key counts."""
        user = await self.users.current(k.keys_stream(user_id))  # device keys sent elsewhere
        device_keys = None
        if body.get("device_keys") is not None:
            device_keys = check_device_keys(body["device_keys"], user_id, device_id)
        ed25519 = (
            user.device_ed25519(device_id)
            if device_keys is None
            else check_ed25519(device_keys, device_id)
        )
        one_time = check_one_time_keys(
            body.get("one_time_keys") or {}, user_id, device_id, ed25519, "one_time_keys"
        )
        fallback: dict[str, Any] = {}
        for field in FALLBACK_FIELDS:
            if body.get(field) is not None:
                fallback.update(
                    check_one_time_keys(body[field], user_id, device_id, ed25519, field)
                )
        stream = k.otk_stream(user_id, device_id)
        # Refuses before any write; on the log's latest (another process may have
        # taken or uploaded keys), since a refusal here is never checked again.
        (await self.otks.current(stream)).decide_upload(one_time, fallback)
        positions: list[int] = []
        if device_keys is not None:
            dk = device_keys
            done, _ = await self.users.write(
                k.keys_stream(user_id), lambda a: (a.decide_device_keys(device_id, dk), None)
            )
            positions += done
        done, _ = await self.otks.write(
            stream, lambda a: (a.decide_upload(one_time, fallback), None)
        )
        positions += done
        return positions, (await self.otks.get(stream)).counts()

    async def claim(
        self, wanted: dict[str, dict[str, str]]
    ) -> tuple[list[int], dict[str, dict[str, dict[str, Any]]]]:
        """``POST /keys/claim`` for local users: ``{user: {device: {key_id: key}}}``."""
        pairs = [(u, d, alg) for u, devices in wanted.items() for d, alg in devices.items()]
        if len(pairs) > MAX_CLAIMS:
            raise KeysRefused(413, "M_TOO_LARGE", f"At most {MAX_CLAIMS} devices per claim")

        async def one(user_id: str, device_id: str, algorithm: str) -> tuple[list[int], Any]:
            return await self.otks.write(
                k.otk_stream(user_id, device_id), lambda a: a.decide_claim(algorithm)
            )

        results = await asyncio.gather(*(one(*p) for p in pairs))
        positions: list[int] = []
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for (user_id, device_id, _), (done, found) in zip(pairs, results, strict=True):
            positions += done
            if found is not None:
                key_id, key = found
                out.setdefault(user_id, {})[device_id] = {key_id: key}
        return positions, out

    async def upload_cross_signing(
        self, user_id: str, body: dict[str, Any], authenticate: Callable[[], Any]
    ) -> list[int]:
        """``POST /keys/device_signing/upload``. ``authenticate`` (a coroutine
        function raising when the request's UIA is missing or wrong) is awaited
        only when an existing key would be replaced."""
        uploaded: dict[str, Any] = {
            t: body[f"{t}_key"] for t in k.CROSS_SIGNING_TYPES if body.get(f"{t}_key") is not None
        }
        stream = k.keys_stream(user_id)
        user = await self.users.current(stream)  # keys uploaded through another process count
        user.decide_cross_signing(uploaded)  # refuses bad keys before asking for auth
        authenticated = False
        if user.replaces_master(uploaded):
            await authenticate()
            authenticated = True

        def decide(a: UserKeys) -> tuple[list[NewRecord], None]:
            if not authenticated and a.replaces_master(uploaded):
                raise _NeedsAuth  # another process uploaded keys since the check
            return a.decide_cross_signing(uploaded), None

        try:
            positions, _ = await self.users.write(stream, decide)
        except _NeedsAuth:
            await authenticate()
            authenticated = True
            positions, _ = await self.users.write(stream, decide)
        return positions

    async def upload_signatures(
        self, user_id: str, body: dict[str, Any]
    ) -> tuple[list[int], dict[str, dict[str, Any]]]:
        """``POST /keys/signatures/upload``: positions and the spec's ``failures``."""
        failures: dict[str, dict[str, Any]] = {}
        valid: list[Signature] = []
        stream = k.keys_stream(user_id)
        signer = await self.users.current(stream)
        for target_user, objects in body.items():
            if not isinstance(objects, dict):
                raise bad_json("Each user's entry must be an object of key ID to signed key")
            other_master = None
            if target_user != user_id:
                other = await self.users.current(k.keys_stream(target_user))
                other_master = other.cross_signing.get("master")
            for target_key, obj in objects.items():
                try:
                    if not isinstance(obj, dict):
                        raise bad_json("A signed key must be an object")
                    valid += signer.check_signatures(target_user, target_key, obj, other_master)
                except KeysRefused as e:
                    failures.setdefault(target_user, {})[target_key] = {
                        "errcode": e.errcode,
                        "error": e.error,
                    }
        positions, _ = await self.users.write(stream, lambda a: (a.decide_signatures(valid), None))
        return positions, failures

    async def forget_device(self, user_id: str, device_id: str) -> list[int]:
        """The device was deleted: its keys go (the write side forgets them; the
        read models already dropped them on ``account.device_deleted``)."""
        positions, _ = await self.users.write(
            k.keys_stream(user_id), lambda a: (a.decide_delete_device(device_id), None)
        )
        more, _ = await self.otks.write(
            k.otk_stream(user_id, device_id), lambda a: (a.decide_clear(), None)
        )
        return positions + more


def check_ed25519(device_keys: dict[str, Any], device_id: str) -> bytes | None:
    return ed25519_public(device_keys["keys"].get(f"ed25519:{device_id}"))


def check_claim_body(body: dict[str, Any]) -> dict[str, dict[str, str]]:
    wanted = body.get("one_time_keys")
    if not isinstance(wanted, dict):
        raise bad_json("one_time_keys must be an object")
    for devices in wanted.values():
        if not isinstance(devices, dict) or not all(
            isinstance(d, str) and isinstance(a, str) and a and ":" not in a
            for d, a in devices.items()
        ):
            raise bad_json("one_time_keys must map users to {device: algorithm}")
    return wanted


class _NeedsAuth(Exception):
    """A cross-signing upload found, at write time, a key it would replace."""
