"""The firmware's own MQTT 3.1.1 client against a real mosquitto, under real MicroPython.

Real: MicroPython running sitless/mqtt.py; mosquitto; paho-mqtt watching from
the test side. Stood in: for the half-open link, a server in the script that
accepts and then never answers (what a broker behind a dead WiFi looks like).
The packets themselves are checked byte for byte in mp/mp_drivers.py. An idle
look at the link (`step` finding nothing to read) must allocate nothing.
"""

from __future__ import annotations

from pathlib import Path

from tests.firmware.device import SessionWatcher
from tests.support.servers import free_port
from tests.support.upython import run_micropython

MP = Path(__file__).resolve().parent / "mp"


def test_client_round_trip_keepalive_will_resend_and_dead_link(private_mosquitto, prefix):
    """Real broker and interpreter; a silent server stands in for a half-open link."""
    broker = private_mosquitto
    watcher = SessionWatcher(broker.host, broker.port, f"{prefix}/#")
    try:
        result = run_micropython(MP / "mqtt_client.py", broker.host, str(broker.port), prefix,
                                 str(free_port()), timeout=120)
        steps = [line[5:] for line in result.stdout.splitlines() if line.startswith("STEP ")]
        assert steps == ["qos1_round_trip", "keepalive", "resent", "disconnected",
                         "idle_look_allocates_nothing", "dead_link_closed"], (
            result.stdout + result.stderr)
        assert result.returncode == 0
        # The link dropped without DISCONNECT: the broker published the last will.
        assert watcher.payloads(f"{prefix}/status") == [b"offline"]
        assert watcher.payloads(f"{prefix}/resent") == [b"again"]
        assert watcher.payloads(f"{prefix}/echo") == [b"hello"]
    finally:
        watcher.close()
