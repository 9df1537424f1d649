"""Password hashing with Argon2id, off the event loop and under a concurrency cap.

Argon2 is deliberately slow and memory-hungry (argon2-cffi's defaults: 64 MiB,
3 passes): run on the event loop it would stall every other request, and run
without a cap a burst of logins could exhaust memory. So each hash or verify
runs in a worker thread, at most ``max_concurrent`` at a time.
"""

from __future__ import annotations

import asyncio

import argon2


class Passwords:
    def __init__(self, *, max_concurrent: int = 4, hasher: argon2.PasswordHasher | None = None):
        self._hasher = hasher or argon2.PasswordHasher()
        self._slots = asyncio.Semaphore(max_concurrent)
        #: Verified against when the user is unknown, so that a miss costs as much
        #: time as a wrong password and does not reveal which users exist.
        self._decoy = self._hasher.hash("not a password")

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        async with self._slots:
            return await asyncio.to_thread(self._verify, password_hash, password)

    def _verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._decoy, password) and (
                password_hash is not None
            )
        except argon2.exceptions.VerificationError:
            return False
        except argon2.exceptions.InvalidHashError:
            return False


def fast_passwords() -> Passwords:
    """Cheap parameters for tests only: the real ones cost ~50 ms and 64 MiB each."""
    return Passwords(hasher=argon2.PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
