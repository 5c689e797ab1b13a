"""docker-compose.yml is valid, complete and keeps every secret out of the repository.

Real: the docker compose CLI's own ``config`` (validation and interpolation,
no engine needed), the hub's configuration loader on the hub service's
environment, the shipped files. Stood in: the secret files, written by the
test where the containers would find them. tests/privacy/test_compose_secrets.py
checks who gets which secret and token.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub import config

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
REQUIRED = re.compile(r"\$\{(\w+):\?[^}]*\}")
ANY_VAR = re.compile(r"\$\{(\w+)(?::?[-?][^}]*)?\}")
HASH = "scrypt$14$8$1$uBuiVWuOTH0HEEJm1j2vAg$r3ka93IqrtJlC2coGJf9XCuQKn4aZ9r6ECYZnuOiuOE"


@cache
def compose_command() -> tuple[str, ...]:
    """``docker compose`` when the plugin exists, else the standalone ``docker-compose``."""
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run(
            [docker, "compose", "version"], capture_output=True, check=False
        ).returncode
        == 0
    ):
        return (docker, "compose")
    standalone = shutil.which("docker-compose")
    if standalone:
        return (standalone,)
    pytest.fail("neither `docker compose` nor `docker-compose` is installed; run scripts/setup")


def compose(env_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # A bare environment: nothing from the developer's shell may fill a variable.
    environ = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(env_file.parent)}
    return subprocess.run(
        [
            *compose_command(),
            "--env-file",
            str(env_file),
            "-f",
            str(COMPOSE),
            "--project-directory",
            str(ROOT),
            *args,
        ],
        capture_output=True,
        text=True,
        env=environ,
        check=False,
        timeout=120,
    )


def mounts(service: dict[str, Any]) -> list[dict[str, str]]:
    """Volumes as {type, source, target}: compose v2 prints them so, v1 as "src:dst:mode"."""
    out = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            out.append({k: str(volume[k]) for k in ("type", "source", "target")})
            continue
        source, target = str(volume).split(":")[:2]
        kind = "bind" if source.startswith(("/", ".")) else "volume"
        out.append({"type": kind, "source": source, "target": target})
    return out


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    env_file = tmp_path_factory.mktemp("compose") / "env"
    shutil.copyfile(ENV_EXAMPLE, env_file)
    quiet = compose(env_file, "config", "-q")
    assert quiet.returncode == 0, quiet.stderr
    full = compose(env_file, "config")
    assert full.returncode == 0, full.stderr
    data: dict[str, Any] = yaml.safe_load(full.stdout)
    return data


ONE_SHOT = {"influxdb-tokens"}  # runs once at each `up` and exits


def test_config_is_valid_and_has_the_four_services(rendered):
    """`config -q` accepts the file; mosquitto, InfluxDB, Grafana and the hub are all there,
    and the job that makes their InfluxDB tokens."""
    assert set(rendered["services"]) == {"mosquitto", "influxdb", "grafana", "hub", *ONE_SHOT}


def test_every_service_restarts_checks_health_and_keeps_data_in_named_volumes(rendered):
    """Restart policy and healthcheck everywhere; state on named volumes that survive down/up."""
    named = set(rendered["volumes"])
    assert {"mosquitto-data", "influxdb-data", "grafana-data", "hub-state"} <= named
    for name, service in rendered["services"].items():
        if name in ONE_SHOT:
            assert service["restart"] == "no", name
            continue
        assert service["restart"] == "unless-stopped", name
        assert service["healthcheck"]["test"], name
        kinds = {v["type"] for v in mounts(service)}
        assert "volume" in kinds, name
        for volume in mounts(service):
            if volume["type"] == "volume":
                assert volume["source"] in named, name


def test_grafana_is_provisioned_locked_and_reads_influxql(rendered):
    """Admin password from a secret file, no anonymous access, provisioning mounted."""
    grafana = rendered["services"]["grafana"]
    env = grafana["environment"]
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    secret = "/run/secrets/grafana_admin_password"  # noqa: S105 - a path, not a password
    assert env["GF_SECURITY_ADMIN_PASSWORD__FILE"] == secret
    targets = {v["target"] for v in mounts(grafana)}
    assert "/etc/grafana/provisioning/datasources" in targets
    assert "/etc/grafana/provisioning/dashboards" in targets
    provider = yaml.safe_load(
        (ROOT / "dashboards/provisioning/dashboards/sitless.yaml").read_text()
    )
    assert provider["providers"][0]["options"]["path"] in targets
    datasource = (ROOT / "dashboards/provisioning/datasources/sitless.yaml").read_text()
    for needed in set(re.findall(r"\$\{(\w+)\}", datasource)):
        assert needed in env, needed


def test_influxdb_sets_itself_up_with_a_dbrp_mapping(rendered):
    """Org and bucket from the env file, password and operator token from secret files; the
    DBRP script is mounted as an init script."""
    influx = rendered["services"]["influxdb"]
    env = influx["environment"]
    assert env["DOCKER_INFLUXDB_INIT_MODE"] == "setup"
    for key in ("ORG", "BUCKET", "ADMIN_TOKEN_FILE", "PASSWORD_FILE"):
        assert env[f"DOCKER_INFLUXDB_INIT_{key}"], key
    init = [v for v in mounts(influx) if v["target"].startswith("/docker-entrypoint-initdb.d/")]
    assert len(init) == 1
    script = Path(init[0]["source"]).read_text()
    assert "influx v1 dbrp create" in script


def test_the_hub_environment_is_a_valid_hub_configuration(rendered, tmp_path):
    """The hub's SITLESS_* variables and its mounted TOML pass the hub's own validation, with
    the secret and token files where the container finds them."""
    hub = rendered["services"]["hub"]
    assert hub["build"]["dockerfile"].endswith("deploy/hub/Dockerfile")
    secrets = {
        "/run/secrets/mqtt_hub_password": "hub-pass",
        "/run/secrets/status_admin_password_hash": HASH,
        "/var/lib/sitless-token/token": "hub-token",
    }
    environ = {}
    for key, raw in hub["environment"].items():
        value = str(raw)
        if value in secrets:
            here = tmp_path / Path(value).name
            here.write_text(secrets.pop(value) + "\n")
            value = str(here)
        environ[key] = value
    assert not secrets, f"the hub reads no {sorted(secrets)}"
    toml = next(v["source"] for v in mounts(hub) if v["target"].endswith(".toml"))
    cfg = config.load(toml, environ=environ)
    assert cfg.mqtt.host == "mosquitto"
    assert cfg.mqtt.username == "_hub"
    assert cfg.mqtt.password is not None
    assert cfg.mqtt.password.get_secret_value() == "hub-pass"
    assert cfg.history.api == "v2"
    assert cfg.history.url == "http://influxdb:8086"
    assert cfg.history.token is not None
    assert cfg.history.token.get_secret_value() == "hub-token"
    # Published beyond loopback, so the page has an account and checks Host names.
    assert cfg.status.host == "0.0.0.0"  # noqa: S104 - the container's side of the port
    assert cfg.users["admin"].role == "admin"
    assert cfg.status.hosts == ["localhost", "sitless.example.org"]


def test_every_variable_is_listed_in_the_env_file_and_none_is_a_secret():
    """Each ${VAR} is in .env.example, and no password, token or hash is one of them."""
    text = COMPOSE.read_text()
    listed = {
        line.split("=", 1)[0]
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert set(ANY_VAR.findall(text)) <= listed
    assert not [v for v in listed if re.search(r"PASSWORD|TOKEN|HASH|SECRET", v)]
    assert not REQUIRED.findall(text)  # nothing secret left to demand from .env
