"""Where the hub keeps its files and finds its servers: the default state folder, the checks.

The configuration uses these to refuse, with one line naming the key, what
would otherwise fail later with a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit


def default_state_dir(environ: Mapping[str, str] | None = None, uid: int | None = None) -> Path:
    """Where the checkpoint and spool go when ``state_dir`` is not set.

    A systemd service gets its ``StateDirectory=`` (``$STATE_DIRECTORY``), root
    ``/var/lib/sitless``, anyone else the XDG state folder
    (``$XDG_STATE_HOME/sitless``, by default ``~/.local/state/sitless``); never
    the current folder, so a hub run from a checkout writes no databases there.
    """
    env = os.environ if environ is None else environ
    if env.get("STATE_DIRECTORY"):
        return Path(env["STATE_DIRECTORY"].split(":")[0])
    if (os.getuid() if uid is None else uid) == 0:
        return Path("/var/lib/sitless")
    xdg = env.get("XDG_STATE_HOME", "")
    if Path(xdg).is_absolute():
        return Path(xdg) / "sitless"
    return Path(env.get("HOME") or Path.home()) / ".local" / "state" / "sitless"


def check_url(value: str, schemes: tuple[str, ...], example: str) -> str:
    """A URL with one of ``schemes``, a host, and if it has a port, one from 1 to 65535."""
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(f"expected a URL like {example}")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise ValueError("the port in the URL is not a number from 1 to 65535")
    return value


def check_folder(value: str) -> str:
    """The folder, or the nearest part of its path that exists, must be a folder."""
    path = Path(value)
    while not path.exists() and path != path.parent:
        path = path.parent
    if not path.is_dir():
        raise ValueError(f"{path} is not a folder")
    return value
