"""The firmware ships inside the wheel, so the board commands work from an installed package.

Real: setuptools builds the wheel from this checkout (with the build hook in
setup.py); the locator runs from the unpacked wheel in a separate Python
process with nothing of the checkout on its path. Stood in: nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_wheel_carries_the_firmware_and_the_locator_finds_it(tmp_path):
    out = tmp_path / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next(out.glob("sitless-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        f"hub/firmware_files/{p.relative_to(ROOT / 'firmware').as_posix()}"
        for p in (ROOT / "firmware").rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert expected <= names
    assert "hub/schemas/occupancy.json" in names
    assert not any(n.endswith("config.json") for n in names if "firmware_files" in n)

    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(unpacked)
    probe = subprocess.run(
        [sys.executable, "-c", "from hub.board.firmware_files import locate; print(locate())"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
    assert Path(probe.stdout.strip()) == unpacked / "hub" / "firmware_files"
