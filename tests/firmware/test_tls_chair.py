"""The chair over TLS (`mqtt_tls`): the broker checked against the CA certificate on the board.

Real: the whole firmware under the MicroPython unix port (its `ssl` module,
mbedtls), mosquitto with a TLS listener on loopback, paho on the test side
over TLS, certificates made fresh in the test's folder with `cryptography`.
Stood in: the hardware (tests/firmware/fakes); the board's flash is the test's
folder, where `ca.pem` lies.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import shutil
import time
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from paho.mqtt.enums import CallbackAPIVersion

from tests.firmware.device import Device
from tests.reliability.rig import ThrowawayCA
from tests.support.servers import Mosquitto, stop_all
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, object]:
    ca = ThrowawayCA(tmp_path / "pki")
    return {
        "ca": ca,
        "server": ca.issue("server", server=True),
        "stranger": ThrowawayCA(tmp_path / "other", "someone else's CA"),
    }


@pytest.fixture
def tls_broker(tmp_path: Path, pki: dict[str, object]):
    ca, server = pki["ca"], pki["server"]
    broker = Mosquitto(
        tmp_path / "broker",
        extra_conf=f"cafile {ca.files.cert}\ncertfile {server.cert}\nkeyfile {server.key}\n",  # type: ignore[attr-defined]
    )
    broker.start()
    yield broker
    stop_all(broker)


class TlsWatcher:
    """paho over TLS, trusting the test's CA: what the chair published, and a way to command it."""

    def __init__(self, broker: Mosquitto, ca: ThrowawayCA, topic: str) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id="watch-tls")
        self.client.tls_set(ca_certs=str(ca.files.cert))
        self.client.on_message = lambda _c, _u, m: self.messages.append((m.topic, m.payload))
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        self.client.subscribe(topic, 1)

    def payloads(self, topic: str) -> list[bytes]:
        return [p for t, p in list(self.messages) if t == topic]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def chair_config(broker: Mosquitto, prefix: str) -> dict[str, object]:
    return {
        "desk": "d1",
        "wifi_ssid": "test",
        "mqtt_host": broker.host,
        "mqtt_port": broker.port,
        "mqtt_tls": True,
        "prefix": prefix,
        "seated_ms": 200,
        "vacant_ms": 300,
        "sample_ms": 20,
    }


def test_the_chair_speaks_mqtt_over_tls_with_the_ca_on_the_board(tmp_path, tls_broker, pki, prefix):
    """Real firmware, ssl module, mosquitto TLS listener and paho; the hardware stood in."""
    base = f"{prefix}/d1"
    shutil.copy(pki["ca"].files.cert, tmp_path / "ca.pem")  # type: ignore[attr-defined]
    watcher = TlsWatcher(tls_broker, pki["ca"], f"{base}/#")  # type: ignore[arg-type]
    device = Device(tmp_path, chair_config(tls_broker, prefix))
    try:
        wait_until(lambda: b"online" in watcher.payloads(f"{base}/status"), 30, "status online")
        assert watcher.payloads(f"{base}/info")
        wait_until(lambda: watcher.payloads(f"{base}/occupancy"), 20, "the first occupancy")
        # A command over the same TLS link is carried out and acked.
        watcher.client.publish(f"{base}/cmd", '{"id": "t-1", "action": "identify"}', qos=1)
        wait_until(lambda: b'{"id":"t-1","ok":true}' in watcher.payloads(f"{base}/ack"), 20, "ack")
        assert device.wait_line(lambda line: line.startswith("mqtt: connected"))
        assert not [x for x in device.output() if x.startswith("mqtt: link lost")]
    finally:
        device.stop()
        watcher.close()


def test_a_broker_signed_by_another_ca_is_refused_with_a_clear_line_and_backoff(
    tmp_path, tls_broker, pki, prefix
):
    """Real firmware and mosquitto; the CA on the board is not the one that signed the broker.

    Each attempt ends with one console line naming the problem, and the
    attempts slow down (1 s, 2 s, 4 s... apart), so a wrong CA is no tight loop.
    Nothing is published.
    """
    shutil.copy(pki["stranger"].files.cert, tmp_path / "ca.pem")  # type: ignore[attr-defined]
    watcher = TlsWatcher(tls_broker, pki["ca"], f"{prefix}/#")  # type: ignore[arg-type]
    device = Device(tmp_path, chair_config(tls_broker, prefix))
    line = re.compile(
        r"mqtt: TLS: the broker's certificate for 127\.0\.0\.1 does not verify against the CA"
        r" in ca\.pem \(.*(signed|verify).*\); not connecting"
    )
    try:
        seen: list[float] = []
        start = time.monotonic()

        def four() -> bool:
            count = sum(1 for x in device.output() if line.fullmatch(x))
            while len(seen) < count:
                seen.append(time.monotonic() - start)
            return len(seen) >= 4

        wait_until(four, 40, "four refused attempts")
        gaps = [b - a for a, b in itertools.pairwise(seen)]
        assert gaps[2] > gaps[0] + 1.5, gaps  # 1 s, 2 s, 4 s apart: growing, not a loop
        assert not watcher.payloads(f"{prefix}/d1/status")
        assert not [x for x in device.output() if x.startswith("mqtt: connected")]
        assert not [x for x in device.output() if "Traceback" in x]
    finally:
        device.stop()
        watcher.close()


def test_a_missing_ca_file_is_named_on_the_console(tmp_path, tls_broker, prefix):
    """Real firmware and mosquitto; no ca.pem on the board at all."""
    device = Device(tmp_path, chair_config(tls_broker, prefix))
    try:
        found = device.wait_line(lambda x: x.startswith("mqtt: TLS:"), 20)
        assert found == "mqtt: TLS: no usable CA certificate in ca.pem"
        assert re.search(r"connected", " ".join(device.output())) is None
    finally:
        device.stop()


def elsewhere_cert(ca: ThrowawayCA, folder: Path) -> tuple[Path, Path]:
    """A server certificate the test's CA signed for another host name only."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "elsewhere.example")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("elsewhere.example")]), False)
        .sign(ca.key, hashes.SHA256())
    )
    cert_path, key_path = folder / "elsewhere.crt", folder / "elsewhere.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_a_certificate_for_another_host_is_refused(tmp_path, pki, prefix):
    """Real firmware and mosquitto; the right CA, but a certificate for another host."""
    ca: ThrowawayCA = pki["ca"]  # type: ignore[assignment]
    cert, key = elsewhere_cert(ca, tmp_path)
    broker = Mosquitto(
        tmp_path / "broker", extra_conf=f"cafile {ca.files.cert}\ncertfile {cert}\nkeyfile {key}\n"
    )
    broker.start()
    shutil.copy(ca.files.cert, tmp_path / "ca.pem")
    device = Device(tmp_path, chair_config(broker, prefix))
    try:
        found = device.wait_line(lambda x: x.startswith("mqtt: TLS:"), 20)
        assert "does not verify against the CA in ca.pem" in found, found
        assert not [x for x in device.output() if x.startswith("mqtt: connected")]
    finally:
        device.stop()
        stop_all(broker)
