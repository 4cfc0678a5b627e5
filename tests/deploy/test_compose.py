"""deploy/docker-compose.yml and deploy/nginx.conf, parsed and checked against the code:
every voxclone variable is a real setting that validates, every file they name exists, and
nginx balances over exactly the compose file's API hosts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from voxclone.config import Settings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
_SUBSTITUTION = re.compile(r"\$\{(\w+)(?::?[-?][^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    return loaded


def _env(service: dict[str, Any]) -> dict[str, str]:
    """The service's environment with ``${VAR...}`` filled in as compose would (dummy values)."""
    return {
        name: _SUBSTITUTION.sub(lambda m: f"x-{m.group(1).lower()}", str(value))
        for name, value in service["environment"].items()
    }


def _is_setting(name: str) -> bool:
    model: type[BaseModel] = Settings
    parts = name.removeprefix("VOXCLONE_").lower().split("__")
    for i, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return False
        if i < len(parts) - 1:
            annotation = field.annotation
            if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                return False
            model = annotation
    return True


def test_the_stack_has_every_part(compose: dict[str, Any]) -> None:
    assert {"api1", "api2", "worker", "postgres", "redis", "minio", "minio-init", "nginx"} <= set(
        compose["services"]
    )
    assert set(compose["volumes"]) == {"postgres-data", "redis-data", "minio-data"}


@pytest.mark.parametrize("name", ["api1", "api2", "worker"])
def test_voxclone_services_configure_the_distributed_mode(
    compose: dict[str, Any], name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    service = compose["services"][name]
    env = _env(service)
    unknown = [k for k in env if k.startswith("VOXCLONE_") and not _is_setting(k)]
    assert unknown == []
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)  # no .env file
    settings = Settings()
    assert settings.queue == "celery"
    assert settings.redis_url == "redis://redis:6379/0"
    assert settings.resolved_database_url.startswith("postgresql+asyncpg://voxclone:")
    assert "@postgres:5432/voxclone" in settings.resolved_database_url
    assert settings.resolved_storage_url == "s3://voxclone/audio"
    assert settings.s3.endpoint_url == "http://minio:9000"
    assert settings.worker.visibility_timeout_s > settings.jobs.lease_s
    command = service["command"]
    assert command[:2] == (
        ["voxclone", "serve"] if name.startswith("api") else ["voxclone", "worker"]
    )
    assert set(service["depends_on"]) == {"postgres", "redis", "minio-init"}


def test_the_bucket_the_services_use_is_the_one_created(compose: dict[str, Any]) -> None:
    bucket = compose["services"]["api1"]["environment"]["VOXCLONE_STORAGE_URL"].split("/")[2]
    init = " ".join(compose["services"]["minio-init"]["entrypoint"])
    assert f"mc mb --ignore-existing store/{bucket}" in init


def test_files_the_compose_file_names_exist(compose: dict[str, Any]) -> None:
    build = compose["services"]["api1"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).is_file()
    for volume in compose["services"]["nginx"]["volumes"]:
        source = volume.split(":")[0]
        assert (DEPLOY / source).exists(), source
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert 'pip install ".[distributed]"' in dockerfile


def test_nginx_balances_over_the_api_hosts_and_upgrades_websockets(
    compose: dict[str, Any],
) -> None:
    conf = (DEPLOY / "nginx.conf").read_text()
    upstream = re.search(r"upstream voxclone_api \{(.*?)\}", conf, re.S)
    assert upstream is not None
    servers = re.findall(r"server ([\w.-]+):(\d+)", upstream.group(1))
    apis = sorted(
        n for n, s in compose["services"].items() if s.get("command", [""])[1:2] == ["serve"]
    )
    assert sorted(host for host, _ in servers) == apis
    assert {port for _, port in servers} == {"8000"}
    assert "proxy_set_header Upgrade $http_upgrade;" in conf
    assert re.search(r"client_max_body_size (\d+)m;", conf).group(1) == "32"  # type: ignore[union-attr]
    assert set(compose["services"]["nginx"]["depends_on"]) == set(apis)
