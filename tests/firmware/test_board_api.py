"""The firmware calls only what the ESP32_GENERIC board has.

Real: pyright checking every firmware file against the published MicroPython
stubs of the ESP32_GENERIC board and MicroPython's standard library stubs
(installed by scripts/firmware-types, which scripts/setup runs), used as the
checker's whole standard library, so a name CPython has but the board lacks is
an error too. Stood in: nothing (the board's API is what the stubs describe).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

from tests.support.upython import FIRMWARE, ROOT


def types_dir() -> Path:
    done = subprocess.run(
        [str(ROOT / "scripts" / "firmware-types"), "--path"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return Path(done.stdout.strip().splitlines()[-1])


def check(where: Path, *include: Path) -> dict[str, Any]:
    """Run pyright on `include` with the board's stubs; its JSON report."""
    tools = types_dir()

    # Paths in a pyright config are relative to the config's folder.
    def rel(path: Path) -> str:
        return os.path.relpath(path, where)

    config = {
        "include": [rel(p) for p in include],
        "extraPaths": [rel(FIRMWARE)],
        "typeshedPath": rel(tools / "stubs"),
        "stubPath": rel(tools / "stubs"),
        "pythonPlatform": "Linux",
        "typeCheckingMode": "standard",
        # The stubs have no module source behind them: that is what a stub is for.
        "reportMissingModuleSource": "none",
    }
    (where / "pyrightconfig.json").write_text(json.dumps(config))
    done = subprocess.run(
        [
            str(tools / "venv" / "bin" / "pyright"),
            "--outputjson",
            "-p",
            str(where / "pyrightconfig.json"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.stdout, done.stderr[-2000:]
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def errors(report: dict[str, Any]) -> list[str]:
    return [
        f"{os.path.relpath(d['file'], ROOT)}:{d['range']['start']['line'] + 1}: {d['message']}"
        for d in report["generalDiagnostics"]
        if d["severity"] == "error"
    ]


def test_the_firmware_type_checks_against_the_esp32_generic_stubs(tmp_path: Path) -> None:
    report = check(tmp_path, FIRMWARE)
    assert report["summary"]["filesAnalyzed"] >= len(list(FIRMWARE.rglob("*.py")))
    assert errors(report) == []


def test_a_call_the_board_does_not_have_fails(tmp_path: Path) -> None:
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "probe.py").write_text(
        "import machine\nimport network\nimport time\n"
        "pin = machine.Pin(2, machine.Pin.OUT)\n"
        "pin.value(1)\n"  # the board has these
        "network.WLAN(network.STA_IF).isconnected()\n"
        "time.sleep_ms(5)\n"
        "pin.toggle_twice()\n"  # line 8: no such method
        "network.WLAN(network.STA_IF).roam()\n"  # line 9: nor this
        "time.perf_counter()\n"  # line 10: CPython has it, MicroPython does not
    )
    found = errors(check(tmp_path, probe))
    assert [line.split(":")[1] for line in found] == ["8", "9", "10"], found


def test_the_setup_network_asks_for_wpa2_psk_by_the_boards_own_number() -> None:
    """Setup mode names WPA2-PSK by its number (the fake radio has no such name): the stubs'."""
    stub = (types_dir() / "stubs" / "network.pyi").read_text()
    found = re.search(r"^AUTH_WPA2_PSK: Final\[int\] = (\d+)$", stub, re.MULTILINE)
    assert found, "no AUTH_WPA2_PSK in the board's network stub"
    source = (FIRMWARE / "sitless" / "setup.py").read_text()
    assert f"password=password, authmode={found.group(1)})" in source
