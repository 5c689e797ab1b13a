"""Firmware unit tests under the real MicroPython unix port (and CPython for the pure modules).

Each `test_*` function in tests/firmware/mp/mp_*.py runs in its own
interpreter process. Real: the MicroPython interpreter and the firmware's own
modules; CPython for the modules the host's demo reuses. Stood in: the pins,
ADC, PWM and WDT (tests/firmware/fakes) and, in the traces, the person on the
chair (recorded-style readings).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.upython import FIRMWARE, run_micropython

MP = Path(__file__).resolve().parent / "mp"
# Scripts whose modules are pure, so they must also run under CPython.
PURE = ("mp_signal.py", "mp_logic.py")
SCRIPTS = ("mp_signal.py", "mp_logic.py", "mp_drivers.py", "mp_offline.py")


def cases() -> list[tuple[str, str, str]]:
    out = []
    for script in SCRIPTS:
        names = re.findall(r"^def (test_\w+)", (MP / script).read_text(), re.MULTILINE)
        for name in names:
            out.append((script, name, "micropython"))
            if script in PURE:
                out.append((script, name, "cpython"))
    return out


@pytest.mark.parametrize(("script", "name", "interpreter"), cases(),
                         ids=lambda v: v.removesuffix(".py"))
def test_firmware_unit(script, name, interpreter, tmp_path):
    """Real interpreter and firmware modules; hardware and sitters stood in (see module doc)."""
    if interpreter == "micropython":
        result = run_micropython(MP / script, name, extra_path=(MP,), timeout=120,
                                 env={"SITLESS_TEST_TMP": str(tmp_path)})
    else:
        env = dict(os.environ, PYTHONPATH=f"{MP}{os.pathsep}{FIRMWARE}")
        result = subprocess.run([sys.executable, str(MP / script), name], capture_output=True,
                                text=True, timeout=120, env=env, check=False)
    assert f"PASS {name}" in result.stdout, result.stdout[-2000:] + result.stderr[-2000:]
    assert result.returncode == 0
