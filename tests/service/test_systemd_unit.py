"""The systemd unit in deploy/systemd: systemd accepts it, it is hardened, and its wiring works.

Real: the machine's own ``systemd-analyze`` (verify, and the offline security
rating) reads a copy of the unit; the hub's own config loader reads the
environment the unit sets, with credential files where systemd would put them;
the ``sitless`` parser parses the unit's command line. Stood in: the
``ExecStart`` path is pointed at this checkout's ``sitless`` (verify checks the
program exists), and ``%d``/``%S`` are filled in by the test as systemd would.
No service is started: that needs systemd as the running init.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hub import config
from hub.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "systemd" / "sitless-hub.service"
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    ANALYZE is None, reason="systemd-analyze is not installed (Debian package systemd)"
)


def settings(text: str) -> list[tuple[str, str]]:
    """Every ``Key=value`` line of the unit, in order, comments left out."""
    pairs = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";", "[")):
            continue
        key, _, value = stripped.partition("=")
        pairs.append((key, value))
    return pairs


def values(key: str) -> list[str]:
    return [v for k, v in settings(UNIT.read_text()) if k == key]


def copy_for_verify(tmp_path: Path, text: str) -> Path:
    """The unit with ExecStart naming this checkout's sitless, which exists on this machine."""
    here = Path(sys.executable).parent / "sitless"
    assert here.exists(), "the sitless command is not installed in this Python's environment"
    target = tmp_path / "sitless-hub.service"
    target.write_text(text.replace("/usr/local/bin/sitless", str(here)))
    return target


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    return subprocess.run(
        [ANALYZE, *args], capture_output=True, text=True, check=False, timeout=120
    )


@needs_analyze
def test_systemd_analyze_verify_accepts_the_unit_without_a_warning(tmp_path):
    unit = copy_for_verify(tmp_path, UNIT.read_text())
    done = analyze("verify", "--man=no", str(unit))
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr


@needs_analyze
def test_verify_would_catch_a_mistake_in_the_unit(tmp_path):
    """The check above can fail: the same unit with one misspelt value is reported."""
    broken = UNIT.read_text().replace("ProtectSystem=strict", "ProtectSystem=strcit")
    unit = copy_for_verify(tmp_path, broken)
    done = analyze("verify", "--man=no", str(unit))
    assert "strcit" in done.stderr, done.stderr


@needs_analyze
def test_systemd_rates_the_unit_as_well_protected(tmp_path):
    unit = copy_for_verify(tmp_path, UNIT.read_text())
    done = analyze("security", "--offline=yes", "--no-pager", str(unit))
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout)
    assert match, done.stdout[-2000:] + done.stderr
    assert float(match.group(1)) <= 2.0, done.stdout[-3000:]


def test_the_unit_runs_as_its_own_user_keeps_state_and_restarts():
    assert values("User") == ["sitless"]
    assert values("Group") == ["sitless"]
    assert values("StateDirectory") == ["sitless"]
    assert values("Restart") == ["on-failure"]
    assert values("RestartPreventExitStatus") == ["2"]  # the CLI's exit code for bad config
    assert values("ProtectSystem") == ["strict"]
    assert values("NoNewPrivileges") == ["yes"]
    assert values("CapabilityBoundingSet") == [""]
    assert all(not key.startswith("ReadWritePaths") for key, _ in settings(UNIT.read_text()))


def test_exec_start_is_a_command_line_the_hub_accepts():
    (line,) = values("ExecStart")
    argv = shlex.split(line)
    assert argv[0] == "/usr/local/bin/sitless"
    args = build_parser().parse_args(argv[1:])
    assert args.command == "hub"
    assert args.config == "/etc/sitless/sitless.toml"


def test_secrets_arrive_as_credentials_and_the_config_reads_them(tmp_path):
    """Each credential the unit loads is named by an environment variable the hub reads."""
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    loaded = {}
    for value in values("LoadCredential"):
        name, _, source = value.partition(":")
        assert source.startswith("/etc/sitless/credentials/"), value
        (credentials / name).write_text(f"secret-of-{name}\n")
        loaded[name] = source
    assert "mqtt_password" in loaded

    environ = {}
    for value in values("Environment"):
        key, _, raw = value.partition("=")
        environ[key] = raw.replace("%d", str(credentials)).replace("%S", str(tmp_path / "state"))
    assert environ["SITLESS_STATE_DIR"] == str(tmp_path / "state" / "sitless")
    assert "secret" not in " ".join(values("Environment"))

    cfg = config.load(environ=environ)
    assert cfg.mqtt.password is not None
    assert cfg.mqtt.password.get_secret_value() == "secret-of-mqtt_password"
    assert cfg.state_dir == str(tmp_path / "state" / "sitless")


def test_the_commented_influx_lines_also_load_when_enabled(tmp_path):
    """Uncommenting the two InfluxDB lines, as docs/install.md says, gives the hub its token."""
    text = UNIT.read_text()
    enabled = re.sub(
        r"^#((?:LoadCredential|Environment)=.*influx_token.*)$", r"\1", text, flags=re.MULTILINE
    )
    assert enabled != text
    pairs = settings(enabled)
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    for key, value in pairs:
        if key == "LoadCredential":
            (credentials / value.partition(":")[0]).write_text("tok\n")
    environ = {
        k: v.replace("%d", str(credentials)).replace("%S", str(tmp_path))
        for k, _, v in (value.partition("=") for key, value in pairs if key == "Environment")
    }
    environ |= {
        "SITLESS_HISTORY__API": "v2",
        "SITLESS_HISTORY__URL": "http://127.0.0.1:9",
        "SITLESS_HISTORY__ORG": "o",
        "SITLESS_HISTORY__BUCKET": "b",
    }
    cfg = config.load(environ=environ)
    assert cfg.history.token is not None
    assert cfg.history.token.get_secret_value() == "tok"


def test_the_example_configuration_in_the_install_guide_is_valid(tmp_path):
    """The TOML in docs/install.md, with the unit's environment, passes the hub's own checks."""
    guide = (ROOT / "docs" / "install.md").read_text()
    (example,) = re.findall(r"```toml\n(.*?)```", guide, flags=re.DOTALL)
    path = tmp_path / "sitless.toml"
    path.write_text(example)
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "mqtt_password").write_text("pw\n")
    environ = {
        key: raw.replace("%d", str(credentials)).replace("%S", str(tmp_path))
        for key, _, raw in (value.partition("=") for value in values("Environment"))
    }
    cfg = config.load(path, environ=environ)
    assert cfg.status.enabled
    assert cfg.mqtt.username == "hub"
    assert "desk-1" in cfg.desks
