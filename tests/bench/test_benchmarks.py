"""Each benchmark runs end to end on a tiny size and writes well-formed JSON.

No timing is asserted here (speed figures belong in docs/performance.md);
what is checked is that every script still works against the real parts it
measures: mosquitto, influxd, the ``sitless hub`` process and the MicroPython
unix port. Stood in: the chairs (a raw MQTT publisher or the firmware's fake
hardware).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def run_bench(script: str, out: Path, *args: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    body = json.loads(out.read_text())
    assert body["benchmark"] == script.removesuffix(".py")
    assert body["machine"]["nproc"] >= 1
    assert body["machine"]["memory_mb"] > 0
    return body


def test_ingest_counts_every_message_on_both_subscribers(tmp_path):
    """Real mosquitto, influxd, hub process and mosquitto_sub; a raw publisher."""
    body = run_bench(
        "ingest.py", tmp_path / "ingest.json", "--desks", "20", "--messages", "600", "--pin"
    )
    run = body["runs"][0]
    assert run["messages"] == 600
    assert run["warmup"] is True
    assert run["first_contact_msgs_per_s"] > 0  # all 20 desks were introduced before the timing
    assert run["zero_loss"] is True
    assert run["influx_points"] == run["expected_points"]
    assert run["hub_msgs_per_s"] > 0
    assert run["mosquitto_sub_msgs_per_s"] > 0


def test_ingest_with_two_hubs_counts_every_message_of_both_prefixes(tmp_path):
    """Real mosquitto, influxd, two hub processes (one per prefix) and mosquitto_sub."""
    body = run_bench(
        "ingest.py", tmp_path / "ingest.json", "--desks", "20", "--messages", "600", "--hubs", "2"
    )
    (run,) = body["runs"]
    assert run["hubs"] == 2
    assert run["messages"] == 600
    assert run["zero_loss"] is True
    # Both prefixes' points, each hub's sentinel its own: 2 x (150 occupancy + 1 sentinel).
    assert (
        run["influx_points"]
        == run["expected_points"]
        == {
            "occupancy": 302,
            "device_health": 298,
        }
    )


def test_alerts_arrive_once_each_and_never_early(tmp_path):
    """Real mosquitto and hub process; a raw publisher sits the desks down."""
    body = run_bench(
        "alerts.py",
        tmp_path / "alerts.json",
        "--desks",
        "30",
        "--limit",
        "2",
        "--spread",
        "1",
        "--timeout",
        "60",
    )
    assert body["alerts_received"] == 30
    assert body["duplicate_alerts"] == 0
    assert body["early_alerts"] == 0
    assert set(body["alert_lateness"]) == {"p50_ms", "p99_ms", "max_ms"}


def test_memory_reports_rss_for_each_size(tmp_path):
    """Real mosquitto and hub process; /proc for the RSS."""
    body = run_bench("memory.py", tmp_path / "memory.json", "--desks", "50")
    (run,) = body["runs"]
    assert run["desks"] == 50
    assert run["rss_empty_kb"] > 0
    assert run["rss_with_desks_kb"] > 0


def test_drain_empties_the_spool_into_influxd(tmp_path):
    """Real influxd, the hub's spool and writer thread."""
    body = run_bench(
        "drain.py",
        tmp_path / "drain.json",
        "--points",
        "3000",
        "--baseline-points",
        "1000",
        "--batch-size",
        "500",
    )
    assert body["left_in_spool"] == 0
    assert body["influx_points"] == body["expected_points"]
    assert body["spool_bytes_per_point"] > 0


def test_firmware_figures_come_from_micropython(tmp_path):
    """Real MicroPython unix port and mosquitto; the ESP32 hardware is faked."""
    body = run_bench(
        "firmware.py",
        tmp_path / "firmware.json",
        "--iterations",
        "300",
        "--cycles",
        "1",
        "--seated-ms",
        "200",
        "--vacant-ms",
        "200",
        "--sample-ms",
        "20",
    )
    assert body["heap_bytes"]["after_10000"] > 0
    assert body["loop"]["iterations"] == 300
    assert body["loop"]["us_per_iteration"] > 0
    assert body["latency"]["sit_to_broker_ms"]["p50"] >= 200  # never before the debounce


def test_owner_thread_takes_every_message_and_publishes_each_view(tmp_path):
    """Real service, checkpoint, spool and history points; the transport is stood in."""
    body = run_bench("owner.py", tmp_path / "owner.json", "--desks", "20", "--messages", "400")
    run = body["runs"][0]
    assert run["messages"] == 400
    # 200 occupancy changes (alternately seated and vacant per desk), a view for each,
    # and the sentinel's; the telemetry changes no view.
    assert run["views_published"] == 201
    assert run["us_cpu_per_message"] > 0
