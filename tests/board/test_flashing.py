"""Flashing: image checks, chip matching, and the esptool command lines.

Real: image headers in files on disk, esptool's own argument parser (the built
command lines are parsed by it without a board), the flash command. Stood in:
the board's answer to chip detection and the esptool run (no board is attached),
recorded by plain functions.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from hub import cli
from hub.board.flashing import CHIPS, FlashError, erase_args, flash, image_chip, write_args


def make_image(path: Path, chip_id: int, magic: int = 0xE9) -> Path:
    header = bytearray(24)
    header[0] = magic
    header[1] = 3
    struct.pack_into("<H", header, 12, chip_id)
    path.write_bytes(bytes(header) + b"\xff" * 1000)
    return path


def test_the_header_names_the_chip(tmp_path):
    """Real: image files on disk; nothing stood in."""
    assert image_chip(make_image(tmp_path / "a.bin", 0)).name == "ESP32"
    assert image_chip(make_image(tmp_path / "b.bin", 9)).name == "ESP32-S3"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "no such file"),
        (b"PK\x03\x04 a zip file, not an image" * 2, "not an ESP firmware image"),
        (b"\xe9", "not an ESP firmware image"),
    ],
)
def test_bad_images_are_refused_by_name(tmp_path, content, problem):
    """Real: files on disk that are not images; nothing stood in."""
    path = tmp_path / "fw.bin"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(FlashError, match=problem) as err:
        image_chip(path)
    assert "fw.bin" in str(err.value)


def test_a_directory_is_not_an_image(tmp_path):
    """Real: a directory; nothing stood in."""
    with pytest.raises(FlashError, match="not a file"):
        image_chip(tmp_path)


def test_command_lines_put_esp32_firmware_at_0x1000(tmp_path):
    """Pure argument building; nothing stood in."""
    chip = CHIPS["ESP32"]
    image = tmp_path / "ESP32_GENERIC.bin"
    assert erase_args(chip, "/dev/ttyUSB0", 460800) == [
        "--chip",
        "esp32",
        "--port",
        "/dev/ttyUSB0",
        "--baud",
        "460800",
        "erase-flash",
    ]
    assert write_args(chip, "/dev/ttyUSB0", 460800, image) == [
        "--chip",
        "esp32",
        "--port",
        "/dev/ttyUSB0",
        "--baud",
        "460800",
        "write-flash",
        "-z",
        "0x1000",
        str(image),
    ]
    assert write_args(CHIPS["ESP32-S3"], "COM3", 115200, image)[-2] == "0x0"


def test_esptool_accepts_the_command_lines(tmp_path):
    """esptool's real parser checks each line; --help stops it before any port is opened."""
    import esptool  # noqa: PLC0415 - slow import kept to this test

    image = make_image(tmp_path / "fw.bin", 0)
    for argv in (
        erase_args(CHIPS["ESP32"], "/dev/null", 460800),
        write_args(CHIPS["ESP32"], "/dev/null", 460800, image),
    ):
        esptool.main([*argv, "--help"])  # a bad option would raise SystemExit(2)


def test_flash_erases_then_writes_after_checking_the_chip(tmp_path):
    """Real: the image check. Stood in: the board (answers ESP32) and esptool (recorded)."""
    image = make_image(tmp_path / "fw.bin", 0)
    runs: list[list[str]] = []
    chip = flash("/dev/ttyUSB0", image, detect=lambda _p: "ESP32", run=runs.append)
    assert chip.name == "ESP32"
    assert [argv[-1] if argv[-1] == "erase-flash" else argv[-4] for argv in runs] == [
        "erase-flash",
        "write-flash",
    ]


def test_a_wrong_chip_stops_before_anything_is_erased(tmp_path):
    """Real: an S3 image. Stood in: an ESP32 board's answer; esptool must never run."""
    image = make_image(tmp_path / "fw.bin", 9)
    runs: list[list[str]] = []
    with pytest.raises(FlashError, match=r"is an ESP32 but fw\.bin is built for ESP32-S3"):
        flash("/dev/ttyUSB0", image, detect=lambda _p: "ESP32", run=runs.append)
    assert runs == []


def test_a_missing_port_exits_3_with_one_line(tmp_path, capsys):
    """Real esptool tries to open the absent port; nothing stood in."""
    image = make_image(tmp_path / "fw.bin", 0)
    code = cli.main(["flash", "--port", str(tmp_path / "ttyUSB7"), "--firmware", str(image)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 3
    assert len(err) == 1
    assert "ttyUSB7" in err[0]


def test_a_missing_image_exits_1_and_says_where_to_get_one(tmp_path, capsys):
    """Real: the command; the image and the port are absent, nothing is opened."""
    code = cli.main(["flash", "--port", "/dev/ttyUSB0", "--firmware", str(tmp_path / "x.bin")])
    assert code == 1
    assert "no such file" in capsys.readouterr().err
    assert cli.main(["flash", "--port", "/dev/ttyUSB0"]) == 2
    assert "micropython.org/download" in capsys.readouterr().err
