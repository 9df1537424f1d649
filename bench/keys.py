"""The ``keys`` scenario: 100 devices upload 50 one-time keys each, then
concurrent ``/keys/claim`` requests take every key across them.

Keys are made and signed before the clock starts (the server checks every
signature, the client's signing is not what is measured). The figure is claimed
keys per second; the details give the upload rate and claim latencies, and the
scenario fails loudly if a key is handed out twice or one is missing.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from typing import Any

import nacl.signing

from bench.matrix import CLIENT, BenchClient
from bench.report import Result
from bench.stats import percentile, rate
from tessera.kernel.b64 import encode_base64
from tessera.kernel.signing import SigningKey, sign_json


async def _device(base_url: str) -> tuple[BenchClient, str]:
    client = BenchClient(base_url)
    await client.register(f"keys-{uuid.uuid4().hex[:8]}")
    _, who = await client.request("GET", f"{CLIENT}/account/whoami")
    return client, str(who["device_id"])


def _upload_body(user_id: str, device_id: str, otks: int) -> dict[str, Any]:
    key = SigningKey(f"ed25519:{device_id}", nacl.signing.SigningKey.generate())
    device_keys = {
        "user_id": user_id,
        "device_id": device_id,
        "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
        "keys": {
            f"ed25519:{device_id}": key.public_key_base64,
            f"curve25519:{device_id}": encode_base64(secrets.token_bytes(32)),
        },
    }
    one_time = {
        f"signed_curve25519:{i:06d}": sign_json(
            {"key": encode_base64(secrets.token_bytes(32))}, user_id, key
        )
        for i in range(otks)
    }
    return {"device_keys": sign_json(device_keys, user_id, key), "one_time_keys": one_time}


async def keys(
    base_url: str,
    _targets: object,
    *,
    devices: int = 100,
    otks: int = 50,
    claimers: int = 10,
    per_claim: int = 10,
) -> Result:
    clients = await asyncio.gather(*(_device(base_url) for _ in range(devices)))
    try:
        bodies = [_upload_body(c.user_id, d, otks) for c, d in clients]
        start = time.perf_counter()
        await asyncio.gather(
            *(
                c.request("POST", f"{CLIENT}/keys/upload", b)
                for (c, _), b in zip(clients, bodies, strict=True)
            )
        )
        upload_s = time.perf_counter() - start

        targets = [(c.user_id, d) for c, d in clients]
        handed: list[str] = []
        latencies: list[float] = []

        async def claimer(index: int, rounds: int) -> None:
            claim_client = clients[index][0]
            for r in range(rounds):
                first = (index * per_claim + r * claimers * per_claim) % devices
                chosen = [targets[(first + j) % devices] for j in range(per_claim)]
                wanted: dict[str, dict[str, str]] = {}
                for user_id, device_id in chosen:
                    wanted.setdefault(user_id, {})[device_id] = "signed_curve25519"
                began = time.perf_counter()
                _, answer = await claim_client.request(
                    "POST", f"{CLIENT}/keys/claim", {"one_time_keys": wanted}
                )
                latencies.append((time.perf_counter() - began) * 1000)
                for user_id, by_device in answer["one_time_keys"].items():
                    for device_id, found in by_device.items():
                        handed.extend(f"{user_id}|{device_id}|{k}" for k in found)

        rounds = devices * otks // (claimers * per_claim)
        start = time.perf_counter()
        await asyncio.gather(*(claimer(i, rounds) for i in range(claimers)))
        claim_s = time.perf_counter() - start
    finally:
        await asyncio.gather(*(c.close() for c, _ in clients))
    total = devices * otks
    if len(handed) != total or len(set(handed)) != total:
        raise AssertionError(f"claims handed {len(handed)} keys, {len(set(handed))} distinct")
    return Result(
        "keys",
        rate(total, claim_s),
        "claimed keys/s",
        None,
        details={
            "devices": devices,
            "otks_per_device": otks,
            "upload_seconds": upload_s,
            "uploaded_keys_per_s": rate(total, upload_s),
            "claim_requests": len(latencies),
            "keys_per_claim": per_claim,
            "claim_p50_ms": percentile(latencies, 50),
            "claim_p99_ms": percentile(latencies, 99),
            "claim_seconds": claim_s,
        },
    )
