"""The rush, page, cold-start and instruction-count benchmarks, each end to end on a tiny size.

No timing is asserted (the figures and their goals live in
docs/performance.md); what is checked is that each script measures what it
says against the real parts: a private mosquitto, the ``sitless hub``
process, its status page and checkpoint, and valgrind. Stood in: the chairs
(a raw MQTT publisher) and the browsers (raw sockets on the event stream).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def run_bench(script: str, out: Path, *args: str, timeout: float = 300) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    body = json.loads(out.read_text())
    assert body["benchmark"] == script.removesuffix(".py")
    assert body["machine"]["nproc"] >= 1
    assert body["machine"]["cpu"]
    assert body["machine"]["reference_us"] > 0
    return body


@pytest.mark.parametrize("kind", ["--known", "--new"])
def test_rush_counts_every_alert_once_beside_the_broker_floor(tmp_path, kind):
    """Real mosquitto and hub process; a raw publisher sits every desk down in one burst."""
    body = run_bench("rush.py", tmp_path / "rush.json", "--desks", "40", "--limit", "3", kind)
    (run,) = body["runs"]
    assert run["known_desks"] is (kind == "--known")
    assert run["alerts_received"] == 40
    assert run["duplicate_alerts"] == 0
    assert run["early_alerts"] == 0
    assert run["alert_lateness"]["p50_ms"] <= run["alert_lateness"]["max_ms"]
    floor = run["baseline_broker_floor"]
    assert floor["messages"] == 80  # one command-sized and one view-sized message per desk
    assert floor["total_ms"] > 0
    assert run["goal_p99_ms"] == max(250.0, 2 * floor["total_ms"])


def test_rush_with_live_page_viewers_connected(tmp_path):
    """Real mosquitto, hub process and status page; raw sockets read the event stream."""
    body = run_bench(
        "rush.py", tmp_path / "rush.json", "--desks", "30", "--limit", "3", "--viewers", "3"
    )
    (run,) = body["runs"]
    assert run["viewers"] == 3
    assert run["alerts_received"] == 30
    assert run["duplicate_alerts"] == 0
    assert run["early_alerts"] == 0
    assert run["viewer_bytes_during_rush"] > 0  # every desk's change reached the viewers


def test_page_counts_first_load_and_quiet_bytes_per_viewer(tmp_path):
    """Real mosquitto, hub process and status page; raw sockets read the event stream."""
    body = run_bench(
        "page.py", tmp_path / "page.json", "--desks", "30", "--viewers", "1", "3",
        "--window", "1.5", "--settle", "0.5",
    )  # fmt: skip
    assert body["desks"] == 30
    assert [r["viewers"] for r in body["runs"]] == [0, 1, 3]
    none, one, three = body["runs"]
    assert none["first_load_bytes"] is None  # the baseline: the hub with no viewer
    assert none["hub_cpu_share_of_a_core"] >= 0
    for run in (one, three):
        # The snapshot names every desk (and the sentinel), so it is at least that long.
        assert run["first_load_bytes"] > 31 * len('"desk":"d000000"')
        assert run["bytes_per_viewer_per_s"] >= 0
        assert "hub_cpu_over_no_viewer" in run


def test_coldstart_finds_the_first_alert_on_time_after_a_restart(tmp_path):
    """Real mosquitto, two hub processes on one state folder; the checkpoint is the hub's own."""
    body = run_bench(
        "coldstart.py", tmp_path / "cold.json", "--desks", "200", "--ladder", "120",
        "--step", "50", "--lead", "12",
    )  # fmt: skip
    assert body["desks"] == 321
    assert body["checkpoint_bytes"] > 0
    assert body["ladder_alerts_received"] == 120
    assert body["ladder_alerts_early"] == 0
    # The first rung falls due as the process starts, before the interpreter has even
    # loaded the hub, so it is late; the ladder ran long enough to find the first on time.
    assert body["ladder_alerts_late"] >= 1
    assert body["cold_start_s"] is not None
    assert 0 < body["cold_start_s"] < 120 * 0.050
    assert 0 < body["first_on_time_s"] <= body["cold_start_s"]
    assert body["late_after_first_on_time"] >= 0
    assert body["hub_online_s"] > 0


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_owner_counts_instructions_per_message_under_callgrind(tmp_path):
    """Real service, checkpoint and spool under valgrind's callgrind; the transport stood in."""
    body = run_bench(
        "owner.py", tmp_path / "owner.json", "--desks", "10", "--messages", "200",
        "--callgrind", "--callgrind-messages", "100",
        timeout=900,
    )  # fmt: skip
    (counted,) = body["callgrind"]
    assert counted["messages"] == 100
    # Two marks around each pass: the warm-up, the first round and the timed pass.
    assert counted["parts"] == 6
    assert counted["first_round_instructions_per_message"] > 10_000
    # A message is decoded, checked, applied and spooled: tens of thousands of instructions
    # at least, and far from the whole process's start-up (billions).
    assert 10_000 < counted["instructions_per_message"] < 10_000_000
