"""The test infrastructure itself: each private server starts, answers and stops.

Real: mosquitto, influxd, victoria-metrics, the MicroPython unix port and mpy-cross.
Nothing is stood in.
"""

import json
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.support.mqttprobe import MqttProbe
from tests.support.upython import mpy_cross_binary, run_micropython


def test_private_mosquitto_round_trip(private_mosquitto):
    assert private_mosquitto.port != 1883
    a = MqttProbe(private_mosquitto.host, private_mosquitto.port)
    a.subscribe("x/#")
    a.publish("x/y", {"n": 1})
    got = a.wait_topic("x/y")
    assert got.json() == {"n": 1}
    a.close()


def test_broker_keeps_retained_across_restart(private_mosquitto):
    a = MqttProbe(private_mosquitto.host, private_mosquitto.port)
    a.publish("keep/me", "v1", retain=True)
    a.close()
    time.sleep(1.5)  # autosave_interval is 1 s in the test config
    private_mosquitto.restart()
    b = MqttProbe(private_mosquitto.host, private_mosquitto.port)
    b.subscribe("keep/#")
    assert b.wait_topic("keep/me").payload == b"v1"
    b.close()


def test_influxd_write_and_query(influxd):
    influxd.create_database("infra")
    line = b"probe,desk=d1 seated=1i 1764140000"
    req = urllib.request.Request(
        f"{influxd.url}/write?db=infra&precision=s", data=line, method="POST"
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 204
    rows = influxd.rows('SELECT "seated" FROM "probe"', "infra")
    assert rows == [{"time": 1764140000, "seated": 1}]


def test_victoria_metrics_accepts_v2_write(victoria):
    req = urllib.request.Request(
        f"{victoria.url}/api/v2/write?org=o&bucket=b&precision=s",
        data=b"probe,desk=d1 seated=1i 1764140000",
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 204


def test_micropython_runs_and_reads_vectors(tmp_path):
    script = tmp_path / "v.py"
    script.write_text(
        "import json, sys\n"
        "with open(sys.argv[1]) as f:\n"
        "    v = json.load(f)\n"
        "print(sys.implementation.name, len(v['valid']))\n"
    )
    vec = Path(__file__).parents[1] / "vectors" / "occupancy.json"
    out = run_micropython(script, str(vec))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["micropython", str(len(json.loads(vec.read_text())["valid"]))]


def test_mpy_cross_compiles(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("from micropython import const\n_X = const(3)\ndef f():\n    return _X\n")
    done = subprocess.run(
        [mpy_cross_binary(), str(src)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "m.mpy").stat().st_size > 0
