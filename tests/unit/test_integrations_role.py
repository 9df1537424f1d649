"""The integrations role runs where NATS is, and only there."""

from __future__ import annotations

import pytest

from tessera.app.config import ConfigError, config_from_mapping
from tessera.app.server import roles_of

NATS = "nats://127.0.0.1:4222"


def test_all_roles_include_integrations_only_with_nats() -> None:
    assert "integrations" not in roles_of(config_from_mapping({}))
    assert "integrations" in roles_of(config_from_mapping({"nats": NATS}))
    assert roles_of(config_from_mapping({"nats": NATS, "roles": ["api"]})) == {"api"}


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"roles": ["integrations"]}, "roles"),
        ({"nats": NATS, "integrations_stream": "A.B"}, "integrations_stream"),
        ({"nats": NATS, "integrations_max_bytes": -1}, "integrations_max_bytes"),
    ],
)
def test_bad_integration_settings_are_refused(values: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        config_from_mapping(values)


def test_integration_settings_load() -> None:
    config = config_from_mapping(
        {"nats": NATS, "integrations_stream": "BOTS", "integrations_max_bytes": 0}
    )
    assert (config.integrations_stream, config.integrations_max_bytes) == ("BOTS", 0)
