"""Finding 8: configuration edges give one clear error naming the problem, never a traceback.

Real: the ``sitless`` command line (``check-config`` and ``hub``), the
configuration loader, the contract's desk-id check. Nothing stood in.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub import config
from hub.contract import vocabulary
from hub.errors import ConfigError
from tests.hostile.rig import sitless
from tests.support.hubproc import ROOT
from tests.support.waiting import wait_until

BASE = '[mqtt]\nurl = "mqtt://127.0.0.1:9"\n'


def refused(path: Path, *expect: str) -> None:
    """Both check-config and hub exit 2 with a line naming the problem, no traceback."""
    for command in ("check-config", "hub"):
        done = sitless(command, "--config", str(path))
        said = done.stdout + done.stderr
        assert done.returncode == 2, (command, said)
        assert "Traceback" not in said, said
        for word in expect:
            assert word in said, (command, word, said)


def test_a_config_file_that_is_not_utf8_is_one_clear_error(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(BASE.encode() + '[desks.d1]\nzone = "Küche"\n'.encode("latin-1"))
    refused(path, str(path), "UTF-8")


def test_a_state_dir_that_is_a_file_is_one_clear_error(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    path = tmp_path / "c.toml"
    path.write_text(f'state_dir = "{blocker}"\n{BASE}')
    refused(path, "state_dir", "not a folder")


def test_mqtts_with_a_missing_ca_file_fails_check_config_too(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(
        f'state_dir = "{tmp_path}"\n[mqtt]\nurl = "mqtts://127.0.0.1:9"\n'
        f'ca_file = "{tmp_path}/nope.pem"\n'
    )
    refused(path, "mqtt.ca_file")


@pytest.mark.parametrize("value", ["inf", "1e400", "nan", '"1e400s"'])
def test_an_infinite_limit_is_refused(tmp_path, value):
    path = tmp_path / "c.toml"
    path.write_text(f'state_dir = "{tmp_path}"\n{BASE}[sitting]\nlimit = {value}\n')
    refused(path, "sitting.limit")


@pytest.mark.parametrize("url", ["ftp://x", "http://x:99999", "http://", "x"])
def test_history_urls_must_be_http_with_a_host_and_a_port_that_exists(tmp_path, url):
    path = tmp_path / "c.toml"
    path.write_text(
        f'state_dir = "{tmp_path}"\n{BASE}[history]\napi = "v1"\nurl = "{url}"\ndatabase = "d"\n'
    )
    refused(path, "history.url")


def test_ids_with_a_trailing_newline_are_refused(tmp_path):
    """``$`` also matches before a final newline; the patterns must not."""
    for pattern in (vocabulary.DESK_ID, vocabulary.BOOT_ID):
        assert pattern.fullmatch("d1") or pattern.match("d1")
        assert not pattern.match("d1\n")
    with pytest.raises(ConfigError, match="desk id"):
        config.from_mapping({"desks": {"d1\n": {}}})
    path = tmp_path / "c.toml"
    path.write_text(f'state_dir = "{tmp_path}"\n{BASE}[desks."d1\\n"]\nzone = "z"\n')
    refused(path, "desk id")


def test_the_default_state_dir_is_a_state_folder_not_the_current_one(tmp_path):
    """A user's default is the XDG state folder, a service's /var/lib/sitless (or what
    systemd's StateDirectory= hands it), and --help says so."""
    xdg = tmp_path / "xdg"
    assert config.default_state_dir({"XDG_STATE_HOME": str(xdg)}, uid=1000) == xdg / "sitless"
    home = {"HOME": str(tmp_path)}
    assert config.default_state_dir(home, uid=1000) == tmp_path / ".local/state/sitless"
    assert config.default_state_dir({}, uid=0) == Path("/var/lib/sitless")
    unit = {"STATE_DIRECTORY": str(tmp_path / "unit")}
    assert config.default_state_dir(unit, uid=1000) == tmp_path / "unit"
    assert Path(config.HubConfig().state_dir) != Path()
    helped = sitless("hub", "--help")
    assert helped.returncode == 0
    text = " ".join(helped.stdout.split())
    assert "/var/lib/sitless" in text
    assert "XDG_STATE_HOME" in text


def test_a_hub_run_from_a_checkout_writes_nothing_into_the_current_folder(tmp_path):
    """No state_dir in the file: the checkpoint goes to the default folder, not the cwd."""
    cwd, state = tmp_path / "checkout", tmp_path / "state"
    cwd.mkdir()
    path = cwd / "c.toml"
    path.write_text(BASE)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STATE_DIRECTORY": str(state)}
    hub = subprocess.Popen(
        [sys.executable, "-m", "hub", "hub", "--config", str(path)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(
            lambda: (state / "sitless-checkpoint.sqlite3").exists() or hub.poll() is not None,
            timeout=20,
            what="the checkpoint created",
        )
        assert hub.poll() is None
    finally:
        hub.terminate()
        out = hub.communicate(timeout=20)[0].decode(errors="replace")
    assert (state / "sitless-checkpoint.sqlite3").exists(), out
    assert sorted(p.name for p in cwd.iterdir()) == ["c.toml"]
    assert "Traceback" not in out
