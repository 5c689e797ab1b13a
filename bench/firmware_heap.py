"""Print the firmware's heap figures under the MicroPython unix port (for firmware/README.md).

Runs tests/firmware/mp/heap.py, which imports the firmware, starts the app
with its tasks and feeds it 14 000 samples, and prints what gc.mem_alloc()
said at each step.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.servers import free_port  # noqa: E402
from tests.support.upython import run_micropython  # noqa: E402


def main() -> int:
    result = run_micropython(ROOT / "tests" / "firmware" / "mp" / "heap.py", str(free_port()),
                             timeout=300)
    line = next((x for x in result.stdout.splitlines() if x.startswith("HEAP ")), None)
    if result.returncode or line is None:
        print(result.stderr[-2000:], file=sys.stderr)
        return 1
    figures = json.loads(line[5:])
    for key in ("imported", "started", "warm", "after_10000"):
        print(f"{key:>12}: {figures[key]:>7,} bytes")
    print(f"{'growth':>12}: {figures['after_10000'] - figures['warm']:>7,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
