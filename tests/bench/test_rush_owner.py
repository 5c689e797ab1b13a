"""bench/rush_owner.py end to end on a tiny size, with and without callgrind.

No timing is asserted (the figures live in docs/performance.md); what is
checked is that the script drives a real rush through the owner thread.
Real: the hub service, its SQLite checkpoint and history spool, valgrind.
Stood in: the transport (it notes the commands it is handed) and the clock.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_rush_owner_times_and_counts_the_way_to_the_last_command(tmp_path):
    out = tmp_path / "rush_owner.json"
    args = ["--desks", "30", "--out", str(out)]
    if shutil.which("valgrind"):
        args.append("--callgrind")
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "rush_owner.py"), *args],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    body = json.loads(out.read_text())
    assert body["benchmark"] == "rush_owner"
    assert body["machine"]["cpu"]
    (run,) = body["runs"]
    assert run["commands"] == 30  # every desk's alert, once
    assert 0 < run["cpu_ms_to_first_command"] <= run["cpu_ms_to_last_command"]
    if "--callgrind" in args:
        (counted,) = body["callgrind"]
        assert counted["instructions_per_desk_to_last_command"] > 0
        assert counted["instructions_per_desk_after_last_command"] > 0
