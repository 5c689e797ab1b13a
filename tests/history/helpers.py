"""Helpers for the history tests: configurations and bounded waits."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hub.config import HubConfig, from_mapping
from hub.history import History


def make_cfg(
    state_dir: Path, desks: dict[str, dict[str, str]] | None = None, **history: Any
) -> HubConfig:
    """A validated hub configuration with the given [history] keys and desk locations."""
    return from_mapping({"state_dir": str(state_dir), "history": history, "desks": desks or {}})


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    """Poll until predicate() is truthy; fail naming what was awaited. Bounded, not timed."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout:.0f} s waiting for {what} (last: {value!r})")
        time.sleep(0.1)


def wait_drained(history: History, timeout: float = 60.0) -> dict[str, Any]:
    """Wait until the writer has emptied the spool; returns the final stats."""
    return wait_for(
        lambda: (s := history.stats())["spool_rows"] == 0 and s,  # type: ignore[no-any-return]
        "the spool to drain",
        timeout,
    )
