"""Print the firmware's heap figures under the MicroPython unix port (for firmware/README.md).

Runs tests/firmware/mp/heap.py twice, as tests/firmware/test_heap.py does:
with the broker away, and connected to a private mosquitto (every transition
published and acknowledged). The script imports the firmware, starts the app
with its tasks and feeds it 14 000 samples; this prints what gc.mem_alloc()
said at each step of both runs.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import broker  # noqa: E402
from tests.firmware.device import SessionWatcher  # noqa: E402
from tests.support.servers import free_port  # noqa: E402
from tests.support.upython import run_micropython  # noqa: E402

SCRIPT = ROOT / "tests" / "firmware" / "mp" / "heap.py"
STAGES = ("imported", "loop", "started", "connected", "warm", "after_10000")


def run(*args: str) -> dict[str, Any] | None:
    result = run_micropython(SCRIPT, *args, timeout=300)
    line = next((x for x in result.stdout.splitlines() if x.startswith("HEAP ")), None)
    if result.returncode or line is None:
        print(result.stderr[-2000:], file=sys.stderr)
        return None
    return dict(json.loads(line[5:]))


def main() -> int:
    away = run(str(free_port()))
    with tempfile.TemporaryDirectory() as tmp, broker(Path(tmp)) as server:
        watcher = SessionWatcher(server.host, server.port, "sitless/d1/#")
        try:
            watcher.publish("sitless/_hub/status", "online", retain=True)
            connected = run(str(server.port), "sitless")
        finally:
            watcher.close()
    if away is None or connected is None:
        return 1
    print(f"{'bytes':>12}  {'away':>7}  {'connected':>9}")
    for key in STAGES:
        print(f"{key:>12}  {away.get(key, ''):>7}  {connected.get(key, ''):>9}")
    for name, figures in (("away", away), ("connected", connected)):
        print(f"growth ({name}): {figures['after_10000'] - figures['warm']} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
