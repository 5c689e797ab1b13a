"""Figure 5: the firmware under the real MicroPython unix port.

* Heap in use after start and after 10 000 sampling iterations: the firmware
  tests' own heap script (tests/firmware/mp/heap.py), run here for its figures,
  with the broker away and connected to a private mosquitto.
* Time per sampling-loop iteration (``App.sample_once``), beside the bare
  sensor read as the baseline (bench/mp/loop_time.py).
* Latency from a simulated sit (the fake ADC turning to a seated level) to the
  ``occupancy`` message arriving at a subscriber on a private mosquitto,
  beside the debounce time the firmware waits on purpose. Each sit comes at a
  random moment within the sample period (a person does not sit in step with
  the board's clock), and the arrival is the time the subscriber's client
  received the message, not the time a poll noticed it.

The hardware (ADC, pins, PWM, WiFi) is the test suite's fake; the interpreter,
the firmware, its MQTT client and the broker are real. Figures are for the
64-bit unix port: an ESP32 is slower per iteration and uses 4-byte pointers.

    .venv/bin/python bench/firmware.py
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ROOT, broker, percentile, wait_for, write_result
from tests.firmware.device import Device, SessionWatcher
from tests.support.servers import free_port
from tests.support.upython import run_micropython

HEAP_SCRIPT = ROOT / "tests" / "firmware" / "mp" / "heap.py"
LOOP_SCRIPT = ROOT / "bench" / "mp" / "loop_time.py"
SEATED_UV = 1_600_000
EMPTY_UV = 100_000


def tagged(stdout: str, tag: str) -> dict[str, Any]:
    line = next(x for x in stdout.splitlines() if x.startswith(tag + " "))
    return dict(json.loads(line[len(tag) + 1 :]))


def heap(*args: str) -> dict[str, Any]:
    result = run_micropython(HEAP_SCRIPT, *args, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    return tagged(result.stdout, "HEAP")


def heap_connected() -> dict[str, Any]:
    """The heap script against a private mosquitto, the hub's status retained there."""
    with tempfile.TemporaryDirectory() as tmp, broker(Path(tmp)) as server:
        watcher = SessionWatcher(server.host, server.port, "sitless/d1/#")
        try:
            watcher.publish("sitless/_hub/status", "online", retain=True)
            return heap(str(server.port), "sitless")
        finally:
            watcher.close()


def loop_time(iterations: int) -> dict[str, Any]:
    result = run_micropython(LOOP_SCRIPT, str(iterations), str(free_port()), timeout=300)
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    return tagged(result.stdout, "LOOP")


class TimedWatcher(SessionWatcher):
    """The tests' watcher, also noting when each message arrived (its client's thread)."""

    def __init__(self, host: str, port: int, topic: str) -> None:
        self.arrivals: list[tuple[str, float]] = []
        super().__init__(host, port, topic)

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        arrived = time.time()
        super()._on_message(client, userdata, msg)
        with self._lock:
            self.arrivals.append((msg.topic, arrived))

    def arrived(self, topic: str) -> list[float]:
        with self._lock:
            return [t for name, t in self.arrivals if name == topic]


def latency(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="sitless-bench-firmware-"))
    samples: list[float] = []
    try:
        with broker(work) as mqtt:
            prefix = "bench"
            topic = f"{prefix}/d1/occupancy"
            watcher = TimedWatcher(mqtt.host, mqtt.port, f"{prefix}/d1/#")
            cfg = {
                "desk": "d1",
                "wifi_ssid": "bench",
                "mqtt_host": mqtt.host,
                "mqtt_port": mqtt.port,
                "prefix": prefix,
                "seated_ms": args.seated_ms,
                "vacant_ms": args.vacant_ms,
                "sample_ms": args.sample_ms,
                "telemetry_s": 60,
            }
            device = Device(work / "device", cfg)
            try:
                wait_for(lambda: watcher.payloads(topic), 30, "the first occupancy")
                for _ in range(args.cycles):
                    # Out of step with the sample period, which the wait for the vacant
                    # message below (polled every 50 ms) would otherwise lock on to.
                    time.sleep(random.uniform(0, 4 * args.sample_ms / 1000))  # noqa: S311 - timing jitter, not security
                    seen = len(watcher.payloads(topic))
                    sat = time.time()
                    device.set_adc(SEATED_UV)
                    wait_for(
                        lambda n=seen: len(watcher.payloads(topic)) > n, 30, "seated", every=0.002
                    )
                    arrived = watcher.arrived(topic)[seen]
                    if not watcher.json(topic)[-1]["seated"]:
                        msg = "expected a seated transition"
                        raise RuntimeError(msg)
                    samples.append(arrived - sat)
                    seen = len(watcher.payloads(topic))
                    device.set_adc(EMPTY_UV)
                    wait_for(lambda n=seen: len(watcher.payloads(topic)) > n, 30, "vacant")
            finally:
                device.stop()
                watcher.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ordered = sorted(samples)
    debounce = args.seated_ms / 1000
    return {
        "cycles": args.cycles,
        "seated_ms": args.seated_ms,
        "sample_ms": args.sample_ms,
        "sit_to_broker_ms": {
            "p50": round(1000 * percentile(ordered, 50), 1),
            "max": round(1000 * ordered[-1], 1),
        },
        "over_debounce_ms": {
            "p50": round(1000 * (percentile(ordered, 50) - debounce), 1),
            "max": round(1000 * (ordered[-1] - debounce), 1),
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--iterations", type=int, default=10_000, help="sampling iterations to time (default 10000)"
    )
    parser.add_argument("--cycles", type=int, default=20, help="sit/stand cycles (default 20)")
    parser.add_argument(
        "--seated-ms", type=int, default=2000, help="the firmware's seated debounce (default 2000)"
    )
    parser.add_argument(
        "--vacant-ms", type=int, default=1000, help="the firmware's vacant debounce (default 1000)"
    )
    parser.add_argument(
        "--sample-ms",
        type=int,
        default=50,
        help="the firmware's sample period (default 50, as on a board)",
    )
    parser.add_argument("--out", help="result file (default bench/results/firmware.json)")
    args = parser.parse_args()
    result = {
        "heap_bytes": heap(str(free_port())),
        "heap_bytes_connected": heap_connected(),
        "loop": loop_time(args.iterations),
        "latency": latency(args),
    }
    write_result("firmware", result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
