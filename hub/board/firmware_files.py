"""Where the firmware sources are: inside the installed package, or in a source checkout.

An installed wheel carries them as package data under ``hub/firmware_files``;
a checkout (or an editable install) has them in ``firmware/`` beside ``hub/``.
Either way ``main.py`` marks the right folder.
"""

from __future__ import annotations

from pathlib import Path

from hub.errors import SitlessError

PACKAGED = Path(__file__).resolve().parents[1] / "firmware_files"
CHECKOUT = Path(__file__).resolve().parents[2] / "firmware"


def locate(override: str | Path | None = None) -> Path:
    """The folder holding ``main.py`` and the ``sitless`` package for the board."""
    candidates = [Path(override)] if override else [PACKAGED, CHECKOUT]
    for folder in candidates:
        if (folder / "main.py").is_file():
            return folder
    tried = ", ".join(str(c) for c in candidates)
    raise SitlessError(
        f"no firmware files found (looked in {tried}); reinstall sitless "
        "or pass --source with the firmware folder"
    )
