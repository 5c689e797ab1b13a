"""The soak benchmark at a tiny size, so it cannot rot between real runs.

Real: bench/soak.py as a process, with the hub service, its checkpoint, its
history spool and writer, and a private influxd. Stood in: the clock
(accelerated) and the broker (messages go straight onto the hub's inbox).
The figures at full size are in docs/reliability.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_soak_runs_small_and_reports_flat_figures_without_errors(tmp_path):
    out = tmp_path / "soak.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "soak.py"),
            "--desks",
            "60",
            "--minutes",
            "6",
            "--limit",
            "2m",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert figures["ok"] is True
    assert figures["log"].get("error", 0) == 0
    assert [m["minute"] for m in figures["minutes"]] == [1, 2, 3, 4, 5, 6]
    assert figures["minutes"][-1]["desks"] == 60
    assert figures["sent"]["cmd"] > 0  # desks sat past the 2 m limit and were alerted
    assert figures["spool_rows_end"] == 0  # the writer kept up with the spool
    assert figures["written"] > 60 * 6  # at least a desk_state point per desk and minute
    assert "internal_error" not in figures["dropped"]
