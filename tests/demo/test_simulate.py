"""Simulated chairs run the firmware's own chair logic and speak the MQTT contract.

Real: the firmware's ``sitless`` modules (signal path, debounce, payloads,
command parser) under CPython, the session mosquitto, the hub's contract
parser checking every message, a paho probe sending commands as the hub does.
Stood in: the people and the pressure sensor (synthetic traces).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

from hub.contract import protocol
from hub.devtools.simulate import Simulator, desk_names


def test_simulated_chairs_publish_valid_changing_occupancy(mosquitto, probe, prefix):
    desks = [d for d, _, _ in desk_names(6)]
    probe.subscribe(f"{prefix}/#")
    # A retained command reaches a chair flagged as retained when it subscribes: ignored.
    probe.publish(f"{prefix}/{desks[0]}/cmd", {"id": "t-3", "action": "identify"}, retain=True)
    desk = desks[0]
    with Simulator(mosquitto.host, mosquitto.port, desks, prefix=prefix, rate=4.0, seed=7) as sim:
        assert type(next(iter(sim.chairs.values())).chair).__module__ == "sitless.chair"
        assert (sim.firmware.where / "sitless" / "signal.py").is_file()

        # Within a bounded wait some chair reports seated and then vacant again.
        def transitions():
            out = {}
            for m in probe.received():
                if m.topic.endswith("/occupancy"):
                    _, msg = protocol.parse(m.topic, m.payload, [prefix])
                    out.setdefault(msg.desk, []).append(msg)
            return out

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            seen = transitions()
            if any(
                any(o.seated for o in v) and not v[-1].seated and len(v) >= 3 for v in seen.values()
            ):
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"no desk sat down and stood up: {transitions()}")

        for msgs in seen.values():
            seqs = [o.seq for o in msgs]
            assert seqs == sorted(seqs)
            assert len({o.boot for o in msgs}) == 1
        for m in probe.received():
            kind = m.topic.rsplit("/", 1)[1]
            if kind in protocol.DEVICE_KINDS:
                protocol.parse(m.topic, m.payload, [prefix])  # raises if off-contract

        # Commands are handled by the firmware's parser and acknowledged.
        desk = desks[0]
        probe.publish(f"{prefix}/{desk}/cmd", {"id": "t-1", "action": "alert", "level": 1})
        probe.publish(f"{prefix}/{desk}/cmd", {"id": "t-2", "action": "dance"})
        ack1 = probe.wait_topic(f"{prefix}/{desk}/ack", where=lambda b: b.get("id") == "t-1")
        assert ack1.json() == {"id": "t-1", "ok": True}
        ack2 = probe.wait_topic(f"{prefix}/{desk}/ack", where=lambda b: b.get("id") == "t-2")
        assert ack2.json()["ok"] is False
        assert ack2.json()["error"] == "unknown action"
        assert sim.alerts == 1
        time.sleep(0.5)
        assert not [
            m
            for m in probe.received(f"{prefix}/{desk}/ack")
            if json.loads(m.payload)["id"] == "t-3"
        ]
    probe.publish(f"{prefix}/{desks[0]}/cmd", "", retain=True)
    statuses = {m.topic: m.payload for m in probe.received() if m.topic.endswith("/status")}
    assert set(statuses.values()) == {b"offline"}
    assert len(statuses) == 6


def test_simulate_command_runs_against_a_broker_and_reports(mosquitto, probe, prefix):
    """The command line: publishes to the given broker and prefix, stops after --duration,
    exits 0; an unreachable broker exits 3 and a bad URL exits 2, each with one clear line."""
    probe.subscribe(f"{prefix}/#")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "hub",
            "simulate",
            "--url",
            f"mqtt://{mosquitto.host}:{mosquitto.port}",
            "--prefix",
            prefix,
            "--desks",
            "3",
            "--rate",
            "5",
            "--duration",
            "6",
            "--seed",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "published" in done.stderr
    desks = {m.topic.split("/")[-2] for m in probe.received() if m.topic.endswith("/occupancy")}
    assert desks
    assert desks <= {"desk-101", "desk-102", "desk-201"}
    unreachable = subprocess.run(
        [sys.executable, "-m", "hub", "simulate", "--url", "mqtt://127.0.0.1:1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert unreachable.returncode == 3
    assert "cannot reach the MQTT broker" in unreachable.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "hub", "simulate", "--url", "http://x"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2
    assert "url" in bad.stderr
