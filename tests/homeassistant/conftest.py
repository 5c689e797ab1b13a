"""A real Home Assistant core per test, in its own virtual environment.

``scripts/homeassistant`` installs each Home Assistant version this machine
can run into ``~/.cache/sitless/homeassistant/<version>/`` (reused between runs; the
first install takes a few minutes). Every test here runs once per installed
version; when no version can be installed the tests fail, they do not skip.
The broker of the chair's story is mosquitto with the shipped configuration
and ACL (``shipped_broker``).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.brokers.test_shipped_broker import ShippedMosquitto
from tests.homeassistant.hass import HomeAssistant
from tests.homeassistant.rig import PASSWORDS, WATCHER_ACL
from tests.support.servers import stop_all

ROOT = Path(__file__).resolve().parents[2]
_INSTALLS: list[tuple[str, Path]] = []


def installs() -> list[tuple[str, Path]]:
    """(version, hass executable) of every version installed for this machine."""
    if not _INSTALLS:
        done = subprocess.run(
            [str(ROOT / "scripts" / "homeassistant"), "--list"],
            capture_output=True,
            text=True,
            check=False,
            timeout=1800,
        )
        if done.returncode != 0:
            msg = f"scripts/homeassistant failed:\n{done.stdout}\n{done.stderr}"
            raise RuntimeError(msg)
        for line in done.stdout.splitlines():
            version, _, hass = line.partition(" ")
            if hass.endswith("/hass"):
                _INSTALLS.append((version, Path(hass)))
        if not _INSTALLS:
            msg = f"scripts/homeassistant listed no version:\n{done.stdout}"
            raise RuntimeError(msg)
    return _INSTALLS


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that asks for ``ha_install`` once per installed version."""
    if "ha_install" in metafunc.fixturenames:
        found = installs()
        metafunc.parametrize("ha_install", found, ids=[v for v, _ in found], scope="session")


@pytest.fixture
def home_assistant(
    ha_install: tuple[str, Path], tmp_path: Path, artifacts: Path
) -> Iterator[HomeAssistant]:
    """A started, onboarded Home Assistant with a long-lived token; no MQTT yet."""
    version, hass = ha_install
    ha = HomeAssistant(hass, tmp_path / "homeassistant", version)
    ha.start()
    try:
        ha.onboard()
        yield ha
    finally:
        ha.stop()
        (artifacts / f"homeassistant-{version}.log").write_text(ha.log())


@pytest.fixture
def shipped_broker(tmp_path: Path) -> Iterator[ShippedMosquitto]:
    """mosquitto with the shipped configuration and ACL, the story's logins and a watcher."""
    server = ShippedMosquitto.started(tmp_path, PASSWORDS, WATCHER_ACL)
    yield server
    stop_all(server)
