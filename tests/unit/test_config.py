"""Configuration loading and the signing key file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tessera.app.config import Config, ConfigError, RateLimit, load_config
from tessera.app.keys import KeyFileError, load_or_create_signing_key, parse_keys


def test_defaults_without_a_file() -> None:
    assert load_config() == Config()


def test_yaml_keys_and_flags_flags_win(tmp_path: Path) -> None:
    path = tmp_path / "tessera.yaml"
    path.write_text(
        "server_name: example.org\n"
        "listen: 0.0.0.0:9000\n"
        "roles: [api, sync]\n"
        "rc_login: {per_second: 1, burst: 3}\n"
        "enable_registration: false\n"
    )
    config = load_config(path, {"listen": "127.0.0.1:1234", "database": None})
    assert config.server_name == "example.org"
    assert config.listen == "127.0.0.1:1234"
    assert config.roles == ("api", "sync")
    assert config.rc_login == RateLimit(1.0, 3)
    assert config.enable_registration is False
    assert config.database is None
    assert config.data_dir == Path("data")


def test_roles_flag_is_comma_separated() -> None:
    assert load_config(None, {"roles": "api, relay"}).roles == ("api", "relay")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sever_name: typo.org\n", "unknown configuration keys: sever_name"),
        ("enable_registration: 'yes'\n", "enable_registration"),
        ("roles: [api, nonsense]\n", "roles"),
        ("listen: nowhere\n", "listen"),
        ("database: mysql://x\n", "database"),
        ("rc_login: {per_second: 1, bust: 3}\n", "rc_login"),
        ("- a list\n", "mapping"),
        ("registration_requires_token: true\n", "registration_tokens"),
        ("read_barrier_timeout_ms: 0\n", "read_barrier_timeout_ms"),
        ("max_unsettled_positions: -1\n", "max_unsettled_positions"),
    ],
)
def test_bad_configuration_fails_loudly(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_signing_key_is_generated_once_and_reloaded(tmp_path: Path) -> None:
    first = load_or_create_signing_key(tmp_path / "data")
    text = (tmp_path / "data" / "signing.key").read_text()
    version = first.key_id.split(":")[1]
    assert text.startswith(f"ed25519 {version} ")
    assert "=" not in text  # unpadded base64
    assert (tmp_path / "data" / "signing.key").stat().st_mode & 0o077 == 0
    again = load_or_create_signing_key(tmp_path / "data")
    assert again.key_id == first.key_id
    assert again.public_key == first.public_key


def test_a_broken_key_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError):
        parse_keys("ed25519 only-two\n")
    (tmp_path / "signing.key").write_text("# nothing\n")
    with pytest.raises(KeyFileError):
        load_or_create_signing_key(tmp_path)
