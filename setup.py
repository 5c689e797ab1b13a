"""Build hook: the firmware sources ship inside the package as ``hub/firmware_files``.

Everything else about the package is in pyproject.toml. The firmware stays in
``firmware/`` in the repository (its own layout, as it lands on the board) and
is copied into the wheel so ``sitless deploy`` works from an installed wheel.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

FIRMWARE = Path(__file__).resolve().parent / "firmware"


class BuildPyWithFirmware(build_py):
    """The usual build, plus a copy of firmware/ under hub/firmware_files."""

    def run(self) -> None:
        """Build, then copy the board's files beside the package."""
        super().run()
        target = Path(self.build_lib) / "hub" / "firmware_files"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(
            FIRMWARE, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "config.json")
        )


setup(cmdclass={"build_py": BuildPyWithFirmware})
