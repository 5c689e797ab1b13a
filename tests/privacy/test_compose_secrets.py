"""The compose stack hands out secrets as files, one InfluxDB token per job, and no open page.

Real: docker-compose.yml, .env.example, the datasource provisioning file and
deploy/influxdb/tokens.sh as shipped, read as YAML and text (no Docker engine
or compose CLI needed); deploy/secrets.sh run for real into a temporary folder,
and the hub's own configuration loader and password check on what it made.
Stood in: nothing; the containers themselves are not started.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub import config
from hub.access import check_exposure
from hub.web.auth import verify_secret

ROOT = Path(__file__).resolve().parents[2]
STACK: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = STACK["services"]
SECRETISH = re.compile(r"PASSWORD|TOKEN|SECRET|HASH", re.IGNORECASE)
TOKEN_DIR = "/var/lib/sitless-token"  # noqa: S105 - a folder, not a token


def environment(service: str) -> dict[str, str]:
    env = SERVICES[service].get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def volume_mounts(service: str) -> list[tuple[str, str]]:
    """(source, target) of each short-syntax volume."""
    return [tuple(str(v).split(":")[:2]) for v in SERVICES[service].get("volumes", [])]  # type: ignore[misc]


def test_no_secret_is_an_environment_value():
    """Every variable that names a password, token or hash points at a file; no value is a
    ${...} of a secret, and .env.example holds none."""
    for name in SERVICES:
        for key, value in environment(name).items():
            if SECRETISH.search(key):
                assert key.endswith("_FILE"), f"{name}: {key} carries a secret itself"
                assert value.startswith(("/run/secrets/", TOKEN_DIR)), f"{name}: {key}={value}"
            for var in re.findall(r"\$\{(\w+)", value):
                assert not SECRETISH.search(var), f"{name}: {key} takes ${{{var}}}"
    example = (ROOT / ".env.example").read_text()
    keys = [line.split("=", 1)[0] for line in example.splitlines() if "=" in line[:40]]
    keys = [k for k in keys if not k.startswith("#")]
    assert keys
    assert not [k for k in keys if SECRETISH.search(k)]


def test_each_service_gets_only_the_secret_files_it_names():
    """A /run/secrets/NAME in a service's environment is in its secrets: list, each of those is a
    file under ./secrets/ (ignored by git), and the operator token reaches InfluxDB's setup
    and the token job only."""
    declared = STACK["secrets"]
    for name, secret in declared.items():
        assert secret["file"] == f"./secrets/{name}", name
    assert "secrets/" in (ROOT / ".gitignore").read_text().splitlines()
    for name, service in SERVICES.items():
        granted = set(service.get("secrets", []))
        used = {
            v.removeprefix("/run/secrets/")
            for v in environment(name).values()
            if v.startswith("/run/secrets/")
        }
        if name == "mosquitto":  # the healthcheck reads the hub's password file too
            assert "/run/secrets/mqtt_hub_password" in " ".join(service["healthcheck"]["test"])
        assert used == granted, name
        assert granted <= set(declared), name
    holders = {n for n, s in SERVICES.items() if "influxdb_admin_token" in s.get("secrets", [])}
    assert holders == {"influxdb", "influxdb-tokens"}


def test_one_influxdb_token_per_job():
    """The hub and Grafana each mount their own token volume (read only), which no other
    long-running service mounts; the token job grants the hub read and write on the bucket and
    Grafana read only, never all-access or operator rights."""
    hub_mounts = dict(volume_mounts("hub"))
    grafana_mounts = dict(volume_mounts("grafana"))
    assert hub_mounts["influxdb-token-hub"] == TOKEN_DIR
    assert grafana_mounts["influxdb-token-grafana"] == TOKEN_DIR
    assert environment("hub")["SITLESS_HISTORY__TOKEN_FILE"] == f"{TOKEN_DIR}/token"
    for volume in ("influxdb-token-hub", "influxdb-token-grafana"):
        users = {n for n in SERVICES if volume in dict(volume_mounts(n))}
        job = "hub" if volume.endswith("hub") else "grafana"
        assert users == {job, "influxdb-tokens"}, volume
        ro = [str(v) for v in SERVICES[job]["volumes"] if str(v).startswith(volume)]
        assert ro == [f"{volume}:{TOKEN_DIR}:ro"]
    datasource = (ROOT / "dashboards/provisioning/datasources/sitless.yaml").read_text()
    assert f"Token $__file{{{TOKEN_DIR}/token}}" in datasource
    script = (ROOT / "deploy/influxdb/tokens.sh").read_text()
    grants = dict(re.findall(r"^make (\w+) (.+)$", script, re.MULTILINE))
    assert grants == {
        "hub": '--read-bucket "$bucket_id" --write-bucket "$bucket_id"',
        "grafana": '--read-bucket "$bucket_id"',
    }
    assert "--all-access" not in script
    assert "--operator" not in script
    job = SERVICES["influxdb-tokens"]
    assert job["depends_on"]["influxdb"]["condition"] == "service_healthy"
    for name in ("hub", "grafana"):
        condition = SERVICES[name]["depends_on"]["influxdb-tokens"]["condition"]
        assert condition == "service_completed_successfully", name


def test_grafana_runs_the_grafana_image():
    """grafana/grafana (grafana-oss is not updated after 12.4), at 12.4 or later."""
    image = SERVICES["grafana"]["image"]
    name, version = image.split(":")
    assert name == "grafana/grafana"
    assert tuple(int(x) for x in version.split(".")[:2]) >= (12, 4)


def test_the_status_page_is_published_only_with_a_login(tmp_path):
    """The hub publishes its page beyond loopback, so it has an admin account whose hash comes
    from a secret file; the hub's own start check accepts that and would refuse it without."""
    hub = SERVICES["hub"]
    assert [str(p).rsplit(":", 1)[-1] for p in hub["ports"]] == ["8080"]
    env = environment("hub")
    assert env["SITLESS_STATUS__HOST"] == "0.0.0.0"  # noqa: S104 - the container's side
    assert env["SITLESS_STATUS__PORT"] == "8080"
    hash_file = tmp_path / "hash"
    password = "a long admin password"  # noqa: S105 - test login
    from hub.web.auth import hash_secret  # noqa: PLC0415 - only this test needs it

    hash_file.write_text(hash_secret(password, log_n=10) + "\n")
    status = {k: v for k, v in env.items() if k.startswith(("SITLESS_STATUS__", "SITLESS_USERS__"))}
    assert status["SITLESS_USERS__ADMIN__ROLE"] == "admin"
    status["SITLESS_USERS__ADMIN__PASSWORD_HASH_FILE"] = str(hash_file)
    cfg = config.load(None, environ=status)
    assert set(cfg.users) == {"admin"}
    check_exposure(cfg.status, cfg.users)  # would raise without accounts
    with pytest.raises(ValueError, match="without a login"):
        check_exposure(cfg.status, {})


def test_the_broker_knows_the_privacy_mode():
    """The broker's entrypoint gets the same privacy setting as the hub, so under "aggregate"
    it makes no all-desks Home Assistant login."""
    assert (
        environment("mosquitto")["SITLESS_PRIVACY"]
        == environment("hub")["SITLESS_HISTORY__PRIVACY"]
    )


def test_the_secrets_script_makes_every_secret_the_stack_reads(tmp_path):
    """deploy/secrets.sh makes each declared secret file, keeps what exists when run again, and
    the admin hash it writes matches the password it kept beside it."""
    if shutil.which("python3") is None:
        pytest.fail("python3 is needed by deploy/secrets.sh")
    folder = tmp_path / "secrets"
    run = [str(ROOT / "deploy/secrets.sh"), str(folder)]
    subprocess.run(run, check=True, capture_output=True, timeout=60)
    made = {p.name: p.read_text() for p in folder.iterdir()}
    assert set(STACK["secrets"]) <= set(made)
    assert folder.stat().st_mode & 0o077 == 0
    for name in STACK["secrets"]:
        assert len(made[name].strip()) >= 32, name
    again = subprocess.run(run, check=True, capture_output=True, text=True, timeout=60)
    assert again.stdout == ""
    assert {p.name: p.read_text() for p in folder.iterdir()} == made
    password = made["status_admin_password"].strip()
    assert verify_secret(password, made["status_admin_password_hash"].strip())
    assert password not in again.stdout
