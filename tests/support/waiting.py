"""Bounded polling for tests that wait on real processes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_until(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll until predicate() returns something truthy and return it; TimeoutError after timeout.

    The default bound is generous, for a busy machine: a wait ends at the first truthy
    answer, so only a failure takes that long.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            msg = f"{what} not met within {timeout} s"
            raise TimeoutError(msg)
        time.sleep(0.02)
