"""Fixtures for the history tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from hub.config import HubConfig
from hub.history import History


@pytest.fixture
def open_history() -> Iterator[Callable[[HubConfig], History]]:
    """Start History objects and always close them, even when a test fails."""
    opened: list[History] = []

    def _open(cfg: HubConfig) -> History:
        history = History(cfg)
        history.start()
        opened.append(history)
        return history

    yield _open
    for history in opened:
        history.close()
