"""The server's configuration: one value, loaded from YAML and command-line flags.

Every command-line flag of ``tessera serve`` is also a key of the YAML file; a flag
given on the command line wins over the file. No ``database``/``nats``: the
embedded profile; both: the scale profile.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tessera.kernel.identifiers import is_valid_server_name


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
    #: The JetStream stream holding the log's records, and the subject root of
    #: records and signals: servers sharing a log share both.
    nats_stream: str = "TESSERA_LOG"
    nats_subject_root: str = "tessera"
    #: Which roles this process runs (api, sync, projections, relay, integrations);
    #: empty: all (integrations only when ``nats`` is set).
    roles: tuple[str, ...] = ()
    #: The JetStream stream of the integration events (docs/integrations.md);
    #: unset: ``<ROOT>_EVENTS`` from ``nats_subject_root`` (``TESSERA_EVENTS``).
    integrations_stream: str | None = None
    #: The size that stream keeps, oldest events dropped first; 0: unlimited.
    integrations_max_bytes: int = 1 << 30
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
    #: How often devices' last-seen time and IP are written to the log, at most (ms).
    device_seen_flush_ms: int = 5 * 60 * 1000
    #: How long a request waits for the projections to reach the log's head before
    #: answering 503 (ms; ``tessera.app.read_barrier``).
    read_barrier_timeout_ms: int = 10_000
    #: How far (log positions) a send may answer ahead of the projections.
    max_unsettled_positions: int = 1000
    #: CIDRs outbound requests may reach despite being private (previews, pushes, federation).
    ip_range_whitelist: tuple[str, ...] = ()
    #: Evaluate push rules for every event (unread counts, notifications, pushes);
    #: false only to measure its cost (docs/notifications.md).
    push_evaluation: bool = True
    #: The largest media upload in bytes (``/media/config``'s ``m.upload.size``).
    max_upload_size: int = 50 * 1024 * 1024
    #: Thumbnails made at upload, ``WIDTHxHEIGHT-crop|scale`` (others on demand, cached).
    thumbnail_sizes: tuple[str, ...] = (
        "32x32-crop",
        "96x96-crop",
        "320x240-scale",
        "640x480-scale",
        "800x600-scale",
    )
    #: Images with more pixels than this are never decoded (decompression bombs).
    max_image_pixels: int = 32_000_000
    #: How long an ``mxc://`` URI from ``POST /media/v1/create`` waits for its bytes (ms).
    unused_media_expiry_ms: int = 24 * 60 * 60 * 1000
    #: How many created-but-unused media IDs a user may hold at once.
    max_pending_media: int = 10
    url_preview_enabled: bool = True
    #: ``HOST:PORT`` of an S3-compatible server: media go there instead of ``data_dir/media``.
    s3_endpoint: str | None = None
    s3_bucket: str = "tessera-media"
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_secure: bool = True
    s3_region: str | None = None

    @property
    def profile(self) -> str:
        return "scale" if self.database else "embedded"


class ConfigError(ValueError):
    """The configuration is wrong: an unknown key, a wrong type, a bad value."""


_FIELDS = {f.name: f for f in dataclasses.fields(Config)}
_ROLES = frozenset({"api", "sync", "projections", "relay", "integrations"})


def _rate_limit(key: str, value: Any) -> RateLimit:
    if isinstance(value, RateLimit):
        return value
    if not isinstance(value, dict) or set(value) - {"per_second", "burst"}:
        raise ConfigError(f"{key}: expected a mapping with per_second and burst")
    base: RateLimit = _FIELDS[key].default  # type: ignore[assignment]
    per_second = value.get("per_second", base.per_second)
    burst = value.get("burst", base.burst)
    if not isinstance(per_second, int | float) or isinstance(per_second, bool) or per_second <= 0:
        raise ConfigError(f"{key}.per_second: expected a positive number")
    if not isinstance(burst, int) or isinstance(burst, bool) or burst < 1:
        raise ConfigError(f"{key}.burst: expected a positive integer")
    return RateLimit(float(per_second), burst)


def _strings(key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key}: expected a list of strings")
    return tuple(value)


def _coerce(key: str, value: Any) -> Any:
    """``value`` as the type of Config's field ``key``; ConfigError if it can't be."""
    default = _FIELDS[key].default
    if isinstance(default, RateLimit):
        return _rate_limit(key, value)
    if isinstance(default, tuple):
        return _strings(key, value)
    if isinstance(default, Path):
        if not isinstance(value, str | Path):
            raise ConfigError(f"{key}: expected a path")
        return Path(value)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false")
        return value
    if isinstance(default, int):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(f"{key}: expected an integer")
        return value
    # str and optional str fields
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{key}: expected a string")
    if value is None and default is not None:
        raise ConfigError(f"{key}: may not be empty")
    return value


def config_from_mapping(values: Mapping[str, Any]) -> Config:
    """A Config from ``values`` (YAML keys, which are the ``serve`` flags with ``_``)."""
    unknown = sorted(set(values) - set(_FIELDS))
    if unknown:
        raise ConfigError(f"unknown configuration keys: {', '.join(unknown)}")
    config = Config(**{k: _coerce(k, v) for k, v in values.items()})
    _validate(config)
    return config


def _validate(config: Config) -> None:
    if not is_valid_server_name(config.server_name):
        raise ConfigError(f"server_name: {config.server_name!r} is not a valid server name")
    host, sep, port = config.listen.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(f"listen: expected HOST:PORT, got {config.listen!r}")
    bad = sorted(set(config.roles) - _ROLES)
    if bad:
        raise ConfigError(f"roles: unknown {', '.join(bad)} (known: {', '.join(sorted(_ROLES))})")
    if config.database is not None and not config.database.startswith(
        ("postgresql://", "postgres://")
    ):
        raise ConfigError("database: expected a postgresql:// URL")
    if config.nats is not None and not config.nats.startswith(("nats://", "tls://")):
        raise ConfigError("nats: expected a nats:// URL")
    if config.registration_requires_token and not config.registration_tokens:
        raise ConfigError("registration_requires_token: set registration_tokens too")
    if "integrations" in config.roles and config.nats is None:
        raise ConfigError("roles: integrations publishes to NATS; set nats too")
    if config.integrations_max_bytes < 0:
        raise ConfigError("integrations_max_bytes: expected 0 (unlimited) or a size in bytes")
    if config.integrations_stream is not None and not re.fullmatch(
        r"[A-Za-z0-9_-]{1,200}", config.integrations_stream
    ):
        raise ConfigError("integrations_stream: expected a JetStream stream name")
    if config.device_seen_flush_ms < 1:
        raise ConfigError("device_seen_flush_ms: expected a positive number of milliseconds")
    if config.read_barrier_timeout_ms < 1:
        raise ConfigError("read_barrier_timeout_ms: expected a positive number of milliseconds")
    if config.max_unsettled_positions < 0:
        raise ConfigError("max_unsettled_positions: expected 0 or more log positions")
    _validate_media(config)


def _validate_media(config: Config) -> None:
    # Imported here: the media package pulls in Pillow, which the CLI need not load.
    from tessera.app.media.sizes import parse_thumbnail_size  # noqa: PLC0415

    if config.max_upload_size < 1:
        raise ConfigError("max_upload_size: expected a positive number of bytes")
    if config.max_image_pixels < 1:
        raise ConfigError("max_image_pixels: expected a positive number")
    for size in config.thumbnail_sizes:
        try:
            parse_thumbnail_size(size)
        except ValueError as e:
            raise ConfigError(f"thumbnail_sizes: {e}") from None
    for cidr in config.ip_range_whitelist:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise ConfigError(f"ip_range_whitelist: {cidr!r} is not a CIDR") from None
    if config.s3_endpoint is not None and "/" in config.s3_endpoint:
        raise ConfigError("s3_endpoint: expected HOST:PORT (set s3_secure for TLS)")


def load_config(
    path: Path | str | None = None, overrides: Mapping[str, Any] | None = None
) -> Config:
    """The configuration from the YAML file at ``path`` (if any) with ``overrides``
    (command-line flags; a ``None`` value means "not given") applied on top."""
    values: dict[str, Any] = {}
    if path is not None:
        text = Path(path).read_text(encoding="utf-8")
        loaded = yaml.safe_load(text)
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping of configuration keys")
        values.update(loaded)
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
    return config_from_mapping(values)
