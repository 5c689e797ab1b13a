"""Every firmware file compiles with mpy-cross, and the firmware runs from `.mpy` files alone.

Real: mpy-cross and the MicroPython unix port. Stood in: the hardware, through
the fakes (which stay `.py`: on a board they are the built-in modules).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.upython import FIRMWARE, mpy_cross_binary, run_micropython

SOURCES = sorted(p.relative_to(FIRMWARE) for p in FIRMWARE.rglob("*.py"))


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mpy")
    for source in SOURCES:
        target = out / source.with_suffix(".mpy")
        target.parent.mkdir(parents=True, exist_ok=True)
        result = subprocess.run([mpy_cross_binary(), "-o", str(target), str(source)],
                                cwd=FIRMWARE, capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{source}: {result.stderr}"
    return out


def test_every_firmware_file_compiles(compiled):
    """Real mpy-cross over every source file, boot.py and main.py included."""
    assert {"main.py", "boot.py", "sitless/app.py", "sitless/mqtt.py"} <= {
        str(s) for s in SOURCES}
    for source in SOURCES:
        assert (compiled / source.with_suffix(".mpy")).stat().st_size > 0


def test_the_firmware_runs_from_mpy_files(compiled, tmp_path):
    """Real MicroPython importing only `.mpy` firmware; an App samples and reports a transition."""
    script = tmp_path / "check.py"
    script.write_text(
        "import machine\n"
        "from sitless import board, config\n"
        "from sitless.app import App\n"
        "import sitless.app, sitless.hx711, sitless.switch, sitless.commands\n"
        "assert sitless.app.__file__.endswith('.mpy'), sitless.app.__file__\n"
        "cfg = config.check({'desk': 'd1', 'transport': 'serial', 'seated_ms': 0})\n"
        "app = App(cfg, board.Board(cfg), boot='mpy')\n"
        "machine.INPUTS['adc34'] = 1600000\n"
        "for t in range(0, 2000, 200):\n"
        "    app.sample_once(t)\n"
        "print('SEATED', app.chair.seated)\n"
    )
    result = run_micropython(script, extra_path=(compiled,))
    # The compiled folder comes first on the path; the script checks a module's file too.
    assert result.returncode == 0, result.stderr
    assert "SEATED True" in result.stdout
    assert '"seated":true' in result.stdout
