"""Keys the way a client makes them, for the HTTP tests of end-to-end encryption:
ed25519 device and cross-signing keys, signed as the spec's "Signing JSON" says."""

from __future__ import annotations

import secrets
from typing import Any

import nacl.signing

from tessera.kernel.b64 import encode_base64
from tessera.kernel.signing import SigningKey, sign_json
from tests.e2e.harness import Client, User

V3 = "/_matrix/client/v3"


def device_signing_key(device_id: str) -> SigningKey:
    return SigningKey(f"ed25519:{device_id}", nacl.signing.SigningKey.generate())


def cross_signing_key() -> SigningKey:
    raw = nacl.signing.SigningKey.generate()
    return SigningKey(f"ed25519:{encode_base64(bytes(raw.verify_key))}", raw)


def device_keys(user: User, key: SigningKey | None = None) -> tuple[dict[str, Any], SigningKey]:
    key = key or device_signing_key(user.device_id)
    body = {
        "user_id": user.user_id,
        "device_id": user.device_id,
        "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
        "keys": {
            f"ed25519:{user.device_id}": key.public_key_base64,
            f"curve25519:{user.device_id}": encode_base64(secrets.token_bytes(32)),
        },
    }
    return sign_json(body, user.user_id, key), key


def one_time_keys(
    user: User, key: SigningKey, count: int, *, start: int = 0, fallback: bool = False
) -> dict[str, Any]:
    out = {}
    for i in range(start, start + count):
        body: dict[str, Any] = {"key": encode_base64(secrets.token_bytes(32))}
        if fallback:
            body["fallback"] = True
        out[f"signed_curve25519:K{i:05d}"] = sign_json(body, user.user_id, key)
    return out


def public_key(key: SigningKey) -> str:
    return key.key_id.partition(":")[2]


def cross_signing_body(
    user_id: str, usage: str, key: SigningKey, signer: SigningKey | None = None
) -> dict[str, Any]:
    body = {"user_id": user_id, "usage": [usage], "keys": {key.key_id: public_key(key)}}
    return sign_json(body, user_id, signer) if signer is not None else body


async def upload(client: Client, user: User, body: dict[str, Any]) -> tuple[int, Any]:
    return await client.post(f"{V3}/keys/upload", body, token=user.token)


async def sync(
    client: Client, user: User, since: str | None = None, **params: str
) -> dict[str, Any]:
    query = dict(params)
    if since is not None:
        query["since"] = since
    status, body = await client.get(f"{V3}/sync", token=user.token, params=query or None)
    assert status == 200, body
    return dict(body)
