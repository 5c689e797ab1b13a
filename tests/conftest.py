"""Shared fixtures: private real servers on free loopback ports, and the test vectors.

Nothing here touches a broker or database the machine may already run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.mqttprobe import MqttProbe
from tests.support.servers import Influxd, Mosquitto, VictoriaMetrics, stop_all

VECTORS = Path(__file__).parent / "vectors"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """One real mosquitto for the whole session; tests use unique prefixes to stay apart."""
    broker = Mosquitto(tmp_path_factory.mktemp("mosquitto"))
    broker.start()
    yield broker
    stop_all(broker)


@pytest.fixture
def private_mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A broker of the test's own, for tests that stop or kill it."""
    broker = Mosquitto(tmp_path / "broker")
    broker.start()
    yield broker
    stop_all(broker)


@pytest.fixture(scope="session")
def influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Influxd]:
    """One real InfluxDB 1.x for the session; tests create their own databases."""
    server = Influxd(tmp_path_factory.mktemp("influxd"))
    server.start()
    yield server
    stop_all(server)


@pytest.fixture
def private_influxd(tmp_path: Path) -> Iterator[Influxd]:
    """An influxd of the test's own, for outage tests."""
    server = Influxd(tmp_path / "influxd")
    server.start()
    yield server
    stop_all(server)


@pytest.fixture
def victoria(tmp_path: Path) -> Iterator[VictoriaMetrics]:
    """A real server that speaks InfluxDB's /api/v2/write (Debian's victoria-metrics)."""
    server = VictoriaMetrics(tmp_path / "vm")
    server.start()
    yield server
    stop_all(server)


@pytest.fixture
def probe(mosquitto: Mosquitto) -> Iterator[MqttProbe]:
    """A real MQTT client on the session broker."""
    client = MqttProbe(mosquitto.host, mosquitto.port)
    yield client
    client.close()


@pytest.fixture
def prefix(request: pytest.FixtureRequest) -> str:
    """A topic prefix unique to the test, so tests sharing a broker never see each other."""
    name = "".join(c if c.isalnum() else "-" for c in request.node.name.lower())[:40]
    return f"t/{name}"


@pytest.fixture(scope="session")
def vectors() -> dict[str, Any]:
    """The shared test vectors: {kind: {"valid": [...], "invalid": [...]}}."""
    return {p.stem: json.loads(p.read_text()) for p in sorted(VECTORS.glob("*.json"))}


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where tests leave files a person may want to look at (screenshots, logs)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
