"""The hub over TLS: ``mqtts://`` with a CA file, optionally a client certificate.

Real: mosquitto with a TLS listener on loopback, certificates made in the
test's folder, the hub service and its own transport over Python's ssl.
Stood in: the chair, by a real MQTT client (paho) on the same TLS listener.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from hub.core.service import HubService
from hub.errors import ConfigError
from tests.reliability.rig import ThrowawayCA, hub_cfg, occupancy
from tests.support.servers import Mosquitto, stop_all
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, object]:
    ca = ThrowawayCA(tmp_path / "pki")
    return {
        "ca": ca,
        "server": ca.issue("server", server=True),
        "client": ca.issue("hub-client", server=False),
        "stranger": ThrowawayCA(tmp_path / "other", "someone else's CA"),
    }


def tls_broker(folder: Path, pki: dict[str, object], *, require_cert: bool) -> Mosquitto:
    ca, server = pki["ca"], pki["server"]
    conf = (
        f"cafile {ca.files.cert}\ncertfile {server.cert}\nkeyfile {server.key}\n"  # type: ignore[attr-defined]
        f"require_certificate {'true' if require_cert else 'false'}\n"
    )
    broker = Mosquitto(folder, extra_conf=conf)
    broker.start()
    return broker


def chair_client(broker: Mosquitto, ca: ThrowawayCA, client: object | None) -> paho.Client:
    chair = paho.Client(CallbackAPIVersion.VERSION2, client_id="chair-tls", protocol=paho.MQTTv5)
    chair.tls_set(
        ca_certs=str(ca.files.cert),
        certfile=None if client is None else str(client.cert),  # type: ignore[attr-defined]
        keyfile=None if client is None else str(client.key),
    )  # type: ignore[attr-defined]
    chair.connect(broker.host, broker.port)
    chair.loop_start()
    return chair


def run_alert_over_tls(
    tmp_path: Path, broker: Mosquitto, pki: dict[str, object], *, with_client_cert: bool
) -> None:
    ca, client = pki["ca"], pki["client"]
    mqtt = {"ca_file": str(ca.files.cert)}  # type: ignore[attr-defined]
    if with_client_cert:
        mqtt |= {"cert_file": str(client.cert), "key_file": str(client.key)}  # type: ignore[attr-defined]
    cfg = hub_cfg(
        tmp_path / "state",
        url=f"mqtts://{broker.host}:{broker.port}",
        sitting={"limit": 1},
        mqtt=mqtt,
    )
    service = HubService(cfg)
    service.start()
    chair = chair_client(broker, ca, client if with_client_cert else None)  # type: ignore[arg-type]
    got: list[dict[str, object]] = []
    chair.on_message = lambda _c, _u, m: got.append(json.loads(m.payload))
    chair.subscribe("rel/desk-t/cmd", qos=1)
    try:
        wait_until(lambda: service.connected, what="hub connected over TLS")
        chair.publish("rel/desk-t/occupancy", occupancy(True, 1, None), qos=1)
        alert = wait_until(
            lambda: [c for c in got if c.get("action") == "alert"], what="alert over TLS"
        )
        assert alert[0]["level"] == 1
    finally:
        chair.disconnect()
        chair.loop_stop()
        service.stop()


def test_hub_works_over_tls_with_a_ca_file(tmp_path, pki):
    broker = tls_broker(tmp_path / "broker", pki, require_cert=False)
    try:
        run_alert_over_tls(tmp_path, broker, pki, with_client_cert=False)
    finally:
        stop_all(broker)


def test_hub_presents_a_client_certificate_when_the_broker_requires_one(tmp_path, pki):
    broker = tls_broker(tmp_path / "broker", pki, require_cert=True)
    try:
        run_alert_over_tls(tmp_path, broker, pki, with_client_cert=True)
    finally:
        stop_all(broker)


def test_a_broker_signed_by_another_ca_is_refused_with_a_clear_reason(tmp_path, pki, caplog):
    broker = tls_broker(tmp_path / "broker", pki, require_cert=False)
    stranger = pki["stranger"]
    cfg = hub_cfg(
        tmp_path / "state",
        url=f"mqtts://{broker.host}:{broker.port}",
        mqtt={"ca_file": str(stranger.files.cert)},
    )  # type: ignore[attr-defined]
    caplog.set_level(logging.WARNING, logger="hub.mqtt.transport")
    service = HubService(cfg)
    service.start()
    try:
        line = wait_until(
            lambda: [
                r.getMessage()
                for r in caplog.records
                if "cannot connect to the broker" in r.getMessage()
            ],
            what="a line saying why TLS failed",
        )
        assert "certificate is not trusted" in line[0], line
        assert f"{broker.host}:{broker.port}" in line[0]
        assert not service.connected
    finally:
        service.stop()
        stop_all(broker)


def test_a_missing_or_broken_ca_file_is_a_configuration_error(tmp_path):
    # A missing file is refused by the configuration itself, so check-config says so too.
    with pytest.raises(ConfigError, match=r"mqtt\.ca_file: cannot read .*nope\.pem"):
        hub_cfg(
            tmp_path / "s1",
            url="mqtts://127.0.0.1:8883",
            mqtt={"ca_file": str(tmp_path / "nope.pem")},
        )
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    broken = hub_cfg(tmp_path / "s2", url="mqtts://127.0.0.1:8883", mqtt={"ca_file": str(junk)})
    with pytest.raises(ConfigError, match=r"mqtt\.ca_file: not a usable CA certificate"):
        HubService(broken)
