"""Flashing MicroPython onto a bare board with esptool: check the image, detect the chip, write.

The image comes from the user (the official ESP32_GENERIC build). Its header
names the chip it was built for, so a mismatch is caught before the board is
erased rather than discovered as a boot loop afterwards. esptool does the work
through its documented command line (``esptool.main``), which also shows its
own progress bars.
"""

from __future__ import annotations

import importlib.util
import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

from hub.errors import DeviceError, SitlessError

logger = logging.getLogger(__name__)

T = TypeVar("T")

IMAGE_MAGIC: Final = 0xE9
HEADER_LEN: Final = 24


@dataclass(frozen=True, slots=True)
class Chip:
    """One chip family: esptool's name for it, its image id and where MicroPython goes."""

    name: str
    esptool: str
    image_id: int
    offset: int


CHIPS: Final = {
    c.name: c
    for c in (
        Chip("ESP32", "esp32", 0, 0x1000),
        Chip("ESP32-S2", "esp32s2", 2, 0x1000),
        Chip("ESP32-S3", "esp32s3", 9, 0x0),
        Chip("ESP32-C3", "esp32c3", 5, 0x0),
        Chip("ESP32-C6", "esp32c6", 13, 0x0),
    )
}
BY_IMAGE_ID: Final = {c.image_id: c for c in CHIPS.values()}


class FlashError(SitlessError):
    """The image cannot go onto this board; the message says why and what to use instead."""


def image_chip(path: Path) -> Chip:
    """The chip an image was built for, from its header; refuses anything that is not an image."""
    if not path.exists():
        raise FlashError(
            f"firmware image {path}: no such file (download the ESP32_GENERIC "
            ".bin from micropython.org/download)"
        )
    if not path.is_file():
        raise FlashError(f"firmware image {path}: not a file")
    try:
        with path.open("rb") as handle:
            header = handle.read(HEADER_LEN)
    except OSError as exc:
        raise FlashError(f"firmware image {path}: cannot read ({exc.strerror})") from exc
    if len(header) < HEADER_LEN or header[0] != IMAGE_MAGIC:
        raise FlashError(
            f"firmware image {path}: not an ESP firmware image "
            "(expected a .bin that starts with byte 0xE9)"
        )
    (image_id,) = struct.unpack_from("<H", header, 12)
    chip = BY_IMAGE_ID.get(image_id)
    if chip is None:
        raise FlashError(
            f"firmware image {path}: built for a chip sitless does not know "
            f"(image chip id {image_id})"
        )
    return chip


def esptool_args(chip: Chip, port: str, baud: int, *command: str) -> list[str]:
    """The esptool command line for one step, always naming the chip and the port."""
    return ["--chip", chip.esptool, "--port", port, "--baud", str(baud), *command]


def erase_args(chip: Chip, port: str, baud: int) -> list[str]:
    """Erase the whole flash, so no old filesystem confuses the new firmware."""
    return esptool_args(chip, port, baud, "erase-flash")


def write_args(chip: Chip, port: str, baud: int, image: Path) -> list[str]:
    """Write the image at the chip's MicroPython offset (0x1000 on the ESP32)."""
    return esptool_args(chip, port, baud, "write-flash", "-z", hex(chip.offset), str(image))


def detect_with_esptool(port: str) -> str:
    """Ask the board which chip it is; the port is released afterwards."""
    _need_esptool()
    from esptool.cmds import detect_chip  # noqa: PLC0415 - esptool is slow to import

    # esptool 5's loader is a context manager: leaving the block closes the port.
    with detect_chip(port) as esp:
        return str(esp.CHIP_NAME)


def _need_esptool() -> None:
    """Stop with how to install esptool (the board extra) rather than fail on an import."""
    if importlib.util.find_spec("esptool") is None:
        raise SitlessError("esptool is not installed: pipx install 'sitless[board]'")


def run_esptool(argv: list[str]) -> None:
    """Run esptool's own command line in process, so its progress is shown as usual."""
    _need_esptool()
    import esptool  # noqa: PLC0415 - esptool is slow to import

    esptool.main(argv)


def flash(
    port: str,
    image: Path,
    *,
    baud: int = 460800,
    detect: Callable[[str], str] = detect_with_esptool,
    run: Callable[[list[str]], Any] = run_esptool,
) -> Chip:
    """Check the image, check the board's chip matches, erase, write."""
    chip = image_chip(image)
    found = _device_step(port, lambda: detect(port))
    if found != chip.name:
        raise FlashError(
            f"the board on {port} is an {found} but {image.name} is built for "
            f"{chip.name}; download the MicroPython build for {found}"
        )
    logger.info("erasing and writing %s to the %s on %s", image, found, port)
    _device_step(port, lambda: run(erase_args(chip, port, baud)))
    _device_step(port, lambda: run(write_args(chip, port, baud, image)))
    return chip


def _device_step(port: str, step: Callable[[], T]) -> T:
    """Turn esptool and pyserial failures into one DeviceError naming the port."""
    import serial  # noqa: PLC0415 - only needed for its exception type

    try:
        return step()
    except SystemExit as exc:
        raise DeviceError(f"esptool stopped with code {exc.code} on {port}") from exc
    except (serial.SerialException, OSError) as exc:
        raise DeviceError(f"cannot use the board on {port}: {exc}") from exc
    except RuntimeError as exc:  # esptool's FatalError
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DeviceError(f"esptool on {port}: {first}") from exc
