"""The server's configuration: one value, loaded from YAML and command-line flags.

Every command-line flag of ``tessera serve`` is also a key of the YAML file; a flag
given on the command line wins over the file. No ``database``/``nats``: the
embedded profile; both: the scale profile.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path


@dataclasses.dataclass(frozen=True, slots=True)
class RateLimit:
    """A token bucket: ``per_second`` sustained, ``burst`` at once."""

    per_second: float
    burst: int


@dataclasses.dataclass(frozen=True, slots=True)
class Config:
    server_name: str = "localhost:8008"
    listen: str = "127.0.0.1:8008"
    data_dir: Path = Path("data")
    #: ``postgresql://…``: event store and read models on PostgreSQL (scale profile).
    database: str | None = None
    #: ``nats://…``: the bus on NATS JetStream (scale profile).
    nats: str | None = None
    #: Which roles this process runs; empty means all of them.
    roles: tuple[str, ...] = ()
    #: The public base URL clients reach (``/.well-known/matrix/client``).
    public_baseurl: str | None = None
    enable_registration: bool = True
    registration_requires_token: bool = False
    registration_tokens: tuple[str, ...] = ()
    #: Largest accepted request body, in bytes (M_TOO_LARGE above it).
    max_request_body: int = 1 << 20
    rc_login: RateLimit = RateLimit(per_second=0.5, burst=10)
    rc_registration: RateLimit = RateLimit(per_second=0.2, burst=5)
    rc_message: RateLimit = RateLimit(per_second=50.0, burst=200)
    #: How long an access token lives when the client asked for refresh tokens (ms).
    access_token_lifetime_ms: int = 5 * 60 * 1000
    #: CIDRs outbound requests may reach despite being private (previews, pushes, federation).
    ip_range_whitelist: tuple[str, ...] = ()

    @property
    def profile(self) -> str:
        return "scale" if self.database else "embedded"
