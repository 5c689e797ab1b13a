"""A stand-in hub process for the outage test: History driven by commands on stdin.

Run as ``python -m tests.history.history_child CONFIG.json``. Commands, one a line:
``record A B`` records occupancy transitions with seq A..B-1 and answers ``ok B``
once they are spooled; ``stats`` answers with History.stats() as JSON; ``quit``
closes History and exits. The test kills this process with SIGKILL at will.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from hub.config import from_mapping
from hub.core.facts import OccupancyChanged
from hub.history import History

T0 = 1_770_000_000.0


def fact(seq: int) -> OccupancyChanged:
    """The fact with a given seq: deterministic, so the test knows what must arrive."""
    return OccupancyChanged(f"desk-{seq % 3}", T0 + seq, bool(seq % 2), seq, float(seq))


def main() -> None:
    """Serve commands until quit or killed."""
    cfg = from_mapping(json.loads(Path(sys.argv[1]).read_text()))
    history = History(cfg)
    history.start()
    for line in sys.stdin:
        words = line.split()
        if words[:1] == ["record"]:
            first, end = int(words[1]), int(words[2])
            for seq in range(first, end):
                history.record(fact(seq))
            print(f"ok {end}", flush=True)
        elif words[:1] == ["stats"]:
            print(json.dumps(history.stats()), flush=True)
        elif words[:1] == ["quit"]:
            break
    history.close()


if __name__ == "__main__":
    main()
