"""compose.yaml describes a scale deployment that Tessera's own code would accept.

There is no container engine here, so the file is checked by reading it: each
Tessera service's command must parse with the real command line and name real
roles, the configuration must load with the real loader and point at the
compose services, and the proxy must send each route to a service running the
role that serves it.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tessera.app.cli import _parser
from tessera.app.config import config_from_mapping
from tessera.app.server import ROLES

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((REPO / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def _unescape(text: str) -> str:
    return text.replace("$$", "$")  # compose's escape for a literal dollar


def _tessera_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in compose["services"].items() if s.get("image") == "tessera:latest"}


def _serve_args(service: dict[str, Any]) -> Any:
    command = service["command"]
    assert command[:2] == ["tessera", "serve"], command
    return _parser().parse_args(command[1:])


def _roles(service: dict[str, Any]) -> set[str]:
    args = _serve_args(service)
    return {r.strip() for r in (args.roles or "").split(",") if r.strip()}


def _config(compose: dict[str, Any]) -> Any:
    return config_from_mapping(yaml.safe_load(compose["configs"]["tessera"]["content"]))


def test_the_infrastructure_services_are_there(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["nats"]["image"].startswith("nats:")
    assert "-js" in services["nats"]["command"]  # JetStream, not plain NATS
    assert services["s3"]["image"].startswith(("minio/minio", "chrislusf/seaweedfs"))


def test_every_role_runs_in_its_own_service(compose: dict[str, Any]) -> None:
    tessera = _tessera_services(compose)
    assert len(tessera) == len(ROLES)
    seen: list[str] = []
    for name, service in tessera.items():
        roles = _roles(service)
        assert len(roles) == 1, f"{name} runs {roles}: one role per service"
        assert roles <= set(ROLES), f"{name}: unknown roles {roles - set(ROLES)}"
        seen.extend(roles)
    assert sorted(seen) == sorted(ROLES)


def test_every_tessera_service_reads_the_shared_config_and_data(compose: dict[str, Any]) -> None:
    config = _config(compose)
    for name, service in _tessera_services(compose).items():
        args = _serve_args(service)
        assert args.config is not None
        mounted = {c["target"]: c["source"] for c in service["configs"]}
        assert mounted.get(str(args.config)) == "tessera", name
        volumes = {v.split(":")[1]: v.split(":")[0] for v in service["volumes"]}
        # One signing key for all roles: the data directory is one shared volume.
        assert volumes.get(str(config.data_dir)) == "tessera-data", name


def test_the_config_is_the_scale_profile_on_the_compose_services(compose: dict[str, Any]) -> None:
    config = _config(compose)
    services = compose["services"]
    assert config.profile == "scale"
    db = urlsplit(config.database)
    pg = services["postgres"]["environment"]
    assert db.hostname == "postgres" and (db.port or 5432) == 5432
    assert (db.username, db.password, db.path) == (
        pg["POSTGRES_USER"],
        pg["POSTGRES_PASSWORD"],
        "/" + pg["POSTGRES_DB"],
    )
    bus = urlsplit(config.nats)
    assert bus.hostname == "nats" and bus.port == 4222
    host, _, port = config.listen.rpartition(":")
    assert host == "0.0.0.0"
    assert f"127.0.0.1:{port}" in " ".join(services["tessera-api"]["healthcheck"]["test"])


def test_the_other_roles_wait_for_the_api_to_be_healthy(compose: dict[str, Any]) -> None:
    api = next(n for n, s in _tessera_services(compose).items() if _roles(s) == {"api"})
    for name, service in _tessera_services(compose).items():
        if name != api:
            assert service["depends_on"][api]["condition"] == "service_healthy", name


def test_the_proxy_sends_sync_to_the_sync_role_and_the_rest_to_the_api(
    compose: dict[str, Any],
) -> None:
    nginx = _unescape(compose["configs"]["proxy"]["content"])
    routes = dict(re.findall(r"location\s+(.+?)\s*\{\s*proxy_pass\s+http://([\w-]+):\d+;", nginx))
    config = _config(compose)
    port = config.listen.rpartition(":")[2]
    assert all(f":{port};" in line for line in nginx.splitlines() if "proxy_pass" in line)
    tessera = _tessera_services(compose)
    sync_route = next(r for r in routes if "sync" in r)
    pattern = re.compile(sync_route.removeprefix("~").strip())
    assert pattern.match("/_matrix/client/v3/sync")
    assert not pattern.match("/_matrix/client/v3/sync/extra")
    assert _roles(tessera[routes[sync_route]]) == {"sync"}
    assert _roles(tessera[routes["/"]]) == {"api"}
    assert compose["services"]["proxy"]["ports"] == [f"{port}:{port}"]


def test_the_image_installs_the_package_on_python_311() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.M)
    assert "pip install ." in dockerfile
    copied = set(re.findall(r"^COPY (\w+) ", dockerfile, re.M))
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    folders = set(pyproject["tool"]["setuptools"]["package-dir"].values())
    assert folders <= copied, f"the image misses {folders - copied}"
