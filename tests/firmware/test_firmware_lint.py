"""The firmware is linted and formatted with its own ruff settings (firmware/ruff.toml).

Real: the ruff installed by the dev extras, run from the firmware folder so
that firmware/ruff.toml applies (the hub's settings exclude the firmware).
Stood in: nothing.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.upython import FIRMWARE

RUFF = Path(sys.executable).parent / "ruff"


def ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(RUFF), *args], cwd=FIRMWARE, capture_output=True, text=True,
                          check=False, timeout=120)


def test_the_firmware_config_is_the_one_used():
    done = ruff("check", "--show-settings", "sitless/app.py")
    assert done.returncode == 0, done.stderr
    assert str(FIRMWARE / "ruff.toml") in done.stdout


def test_ruff_check_is_clean_on_the_firmware():
    done = ruff("check", "--output-format", "concise", ".")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_ruff_format_is_applied_to_the_firmware():
    done = ruff("format", "--check", ".")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
