"""The firmware's heap under the real MicroPython unix port: its size, and no growth over time.

Real: MicroPython checking the config and importing the firmware as main.py
does (at the same optimisation level), then running the App's sampling path
14 000 times with its tasks started (the network task keeps failing to reach a
closed port, as with the broker away). Stood in: the hardware (fake ADC, pins,
PWM).

The figures are for the 64-bit unix port, where every heap block is 32 bytes
and every pointer 8; the ESP32 uses 16-byte blocks and 4-byte pointers, so the
same firmware needs less there.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.servers import free_port
from tests.support.upython import run_micropython

MP = Path(__file__).resolve().parent / "mp"
# Bytes on the 64-bit unix port: the goal of 40 KB, read as 40 000 bytes (see
# firmware/README.md); measured 39 392. The source files' paths are interned too, so a deeper
# checkout reads a little higher.
BUDGET = 40_000
GROWTH_ALLOWED = 256  # bytes of noise between two collections


def test_heap_is_bounded_and_does_not_grow():
    """Real MicroPython; hardware stood in (see module doc)."""
    result = run_micropython(MP / "heap.py", str(free_port()), timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    line = next(x for x in result.stdout.splitlines() if x.startswith("HEAP "))
    figures = json.loads(line[5:])
    assert figures["outbox"] == 32  # full: the warm-up filled it, so growth would show
    assert figures["transitions"] > 60
    assert figures["imported"] <= BUDGET, figures
    assert figures["after_10000"] <= BUDGET, figures
    assert figures["after_10000"] - figures["warm"] <= GROWTH_ALLOWED, figures
    # Code needed only now and then is not kept: start-up, config checks, the calibration from
    # the config, commands and host lines, bringing the link up (WiFi, the MQTT handshake, info,
    # NTP).
    assert not {"sitless.start", "sitless.config", "sitless.points", "sitless.commands",
                "sitless.link"} & set(figures["modules"])
    assert {"sitless.chair", "sitless.calib", "sitless.mqtt"} <= set(figures["modules"])
