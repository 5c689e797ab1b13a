"""The project's own strictness gates: ruff lint and format, mypy --strict over hub.

Real: the ruff and mypy installed by the dev extras, with the settings in
pyproject.toml. Stood in: nothing.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.slow


def test_ruff_is_clean():
    done = subprocess.run(
        [
            str(BIN / "ruff"),
            "check",
            "--output-format",
            "concise",
            "hub",
            "tests",
            "bench",
            "setup.py",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_ruff_format_is_applied():
    done = subprocess.run(
        [str(BIN / "ruff"), "format", "--check", "hub", "tests", "bench", "setup.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_mypy_strict_is_clean():
    done = subprocess.run(
        [str(BIN / "mypy")], cwd=ROOT, capture_output=True, text=True, check=False, timeout=600
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
