"""Fixtures for the broker tests: any broker of the matrix, stopped when the test ends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.brokers.brokers import MATRIX, Aedes, Amqtt, MosquittoVariant
from tests.support.servers import stop_all

AnyBroker = Aedes | Amqtt | MosquittoVariant


@pytest.fixture
def make_broker(tmp_path: Path) -> Iterator[Callable[..., AnyBroker]]:
    """Start a broker of the matrix by name (or mosquitto with the given settings)."""
    started: list[AnyBroker] = []

    def make(name: str, settings: dict[str, str] | None = None) -> AnyBroker:
        folder = tmp_path / f"broker-{len(started)}"
        if settings is not None:
            broker: AnyBroker = MosquittoVariant(folder, settings)
        else:
            broker = next(k for k in MATRIX if k.name == name).make(folder)
        broker.start()
        started.append(broker)
        return broker

    yield make
    stop_all(*started)
