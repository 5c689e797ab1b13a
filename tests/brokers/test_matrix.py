"""The same short scenario on every broker of the matrix.

Real: the ``sitless hub`` process, its status page and log, and each broker
of ``tests.brokers.brokers.MATRIX`` as its own server (mosquitto in five
settings, amqtt, aedes). Stood in: the ESP32, by a paho client publishing
what the firmware would.

The scenario, per broker: the hub connects and says ``online``; a chair sits
and is alerted on time (or, where the broker's size limit refuses the alert,
the refusal is a WARNING with its reason and is counted); the broker restarts
and the hub reconnects once and hears the chair stand up; the hub stops, the
chair sits again while it is away, and the restarted hub alerts on time,
whether or not the broker kept its session (``session present`` 0 or 1, as
each broker does). Nowhere a reconnect loop, a malformed packet or a
traceback. The brokers run side by side, a few at a time, so the whole
matrix stays short.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.brokers.brokers import MATRIX, BrokerKind
from tests.brokers.rig import BrokerHub, chair_probe, commands, sit, wait_command
from tests.support.mqttprobe import MqttProbe
from tests.support.servers import stop_all
from tests.support.waiting import wait_until

PREFIX = "t/m"
DESK = "desk-1"
CMD = f"{PREFIX}/{DESK}/cmd"
HUB_STATUS = f"{PREFIX}/_hub/status"
ON_TIME_S = 2.0  # lateness allowed with several hubs and brokers sharing two cores
SIDE_BY_SIDE = 4


def _connected(hub: BrokerHub) -> bool:
    return hub.metrics().get("sitless_mqtt_connected") == 1.0


def _statuses(probe: MqttProbe) -> list[bytes]:
    return [m.payload for m in probe.received(HUB_STATUS)]


def _refusals(hub: BrokerHub) -> list[str]:
    return [line for line in hub.lines("warning") if CMD in line and "refused" in line]


def _alerted_or_refused(  # noqa: PLR0917 - the moments of the scenario
    kind: BrokerKind, probe: MqttProbe, hub: BrokerHub, seated: float, due: float, before: int
) -> Any:
    """How late the alert came after it was due, or the refusal's warning (after ``before``)."""
    if kind.refuses_alerts:
        return wait_until(
            lambda: _refusals(hub)[before:],
            timeout=max(0.0, due - time.time()) + ON_TIME_S + 3,
            what="a warning that the alert was refused",
        )[0]
    alert = wait_command(
        probe, CMD, "alert", seated, timeout=max(0.0, due - time.time()) + ON_TIME_S + 3
    )
    return alert["at"] - due


def run_scenario(kind: BrokerKind, folder: Path) -> dict[str, Any]:
    """Run the scenario on one broker; what was seen, for the tests to judge."""
    seen: dict[str, Any] = {"kind": kind}
    broker = kind.make(folder / "broker")
    broker.start()
    hub = BrokerHub(folder / "hub", broker.url, PREFIX, protocol=kind.protocol)
    probe = chair_probe(broker.host, broker.port, PREFIX)
    try:
        hub.start(probe)
        probe.publish(f"{PREFIX}/{DESK}/status", "online", retain=True)
        seated = sit(probe, PREFIX, DESK, 1, seated=True)
        seen["first"] = _alerted_or_refused(kind, probe, hub, seated, seated + hub.limit, 0)

        if kind.extra_connects:  # the broker cuts the link after its refusal: let that settle
            time.sleep(0.5)
            wait_until(lambda: _connected(hub), timeout=15, what="the hub back after the cut")
        restarts = len(hub.connects())
        probe.close()
        broker.stop()
        broker.start()
        wait_until(lambda: len(hub.connects()) > restarts, timeout=15, what="the hub reconnected")
        probe = chair_probe(broker.host, broker.port, PREFIX)
        probe.publish(f"{PREFIX}/{DESK}/status", "online", retain=True)
        stood = sit(probe, PREFIX, DESK, 2, seated=False)
        seen["clear_after_restart"] = wait_command(probe, CMD, "clear", stood, timeout=10)
        # The latest status: a retained ``offline`` (the hub's will, where the broker cut
        # the link) may come first, and must be followed by ``online``.
        seen["status_after_restart"] = wait_until(
            lambda: _statuses(probe)[-1:] == [b"online"] and b"online",
            timeout=10,
            what="the hub online after the broker's restart",
        )

        hub.stop()
        seated = sit(probe, PREFIX, DESK, 3, seated=True)
        before = len(_refusals(hub))
        hub.start()
        # Due at the limit after sitting down, or at once if the hub came back later.
        due = max(seated + hub.limit, time.time())
        seen["second"] = _alerted_or_refused(kind, probe, hub, seated, due, before)
        if kind.extra_connects:  # the broker cuts the link after its refusal: wait for the hub
            time.sleep(0.5)
            wait_until(
                lambda: _connected(hub) and _statuses(probe)[-1:] == [b"online"],
                timeout=15,
                what="the hub online again after the broker's cut",
            )
        time.sleep(1.0)  # a looping hub would reconnect within this
        seen["connects"] = hub.connects()
        seen["counters"] = hub.counters()
        seen["metrics"] = hub.metrics()
        seen["warnings"] = hub.lines("warning")
        seen["log"] = hub.log()
        seen["statuses"] = _statuses(probe)
        seen["alerts"] = commands(probe, CMD, "alert")
    except Exception as exc:  # noqa: BLE001 - handed to the test of this broker, with the log
        seen["error"] = f"{type(exc).__name__}: {exc}\n--- hub log ---\n{hub.log()[-4000:]}"
    finally:
        hub.stop()
        probe.close()
        stop_all(broker)
    return seen


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    root = tmp_path_factory.mktemp("matrix")
    with ThreadPoolExecutor(SIDE_BY_SIDE) as pool:
        futures = {k.name: pool.submit(run_scenario, k, root / k.name) for k in MATRIX}
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("name", [k.name for k in MATRIX])
def test_connect_alert_broker_restart_and_session(matrix, name):
    """Each broker: alerts on time (or a reported refusal), one reconnect per restart, no loop."""
    seen = matrix[name]
    assert "error" not in seen, seen.get("error")
    kind: BrokerKind = seen["kind"]
    if kind.refuses_alerts:
        # The honest outcome of a limit smaller than an alert: no alert reaches the chair,
        # and each refusal is a WARNING naming the command's topic, with its reason, counted.
        assert "refused" in seen["first"]
        assert "refused" in seen["second"]
        reasons = kind.refusal_reasons
        assert sum(seen["counters"].get(f"mqtt_refused_{r}", 0) for r in reasons) >= 1
        metric = 'sitless_mqtt_refused_total{reason="%s"}'
        assert sum(seen["metrics"].get(metric % r, 0) for r in reasons) >= 1
        assert not seen["alerts"]
    else:
        assert -0.1 < seen["first"] <= ON_TIME_S
        assert seen["second"] <= ON_TIME_S
        # The chair's connection after the broker's restart saw the second alert, once.
        assert len(seen["alerts"]) == 1, seen["alerts"]
    # Start, broker restart, hub restart; a broker that closes the link after a
    # refusal adds one each time, nothing more.
    connects = seen["connects"]
    assert 3 <= len(connects) <= 3 + kind.extra_connects, seen["log"][-3000:]
    assert connects[0] is False  # a fresh broker has no session for a new client id
    # After the broker restarted: its session only where the broker keeps them.
    assert connects[1] is kind.kept_over_restart
    # After the hub's clean stop and start.
    assert connects[-1] is kind.kept_over_disconnect
    assert seen["status_after_restart"] == b"online"
    assert seen["statuses"][-1] == b"online"
    assert "Traceback" not in seen["log"]
    assert not [line for line in seen["log"].splitlines() if "malformed" in line]
    # Every warning has a reason; on a broker that refuses nothing, there is none at all
    # (the broker's restart is info: the hub reconnects by itself).
    if not kind.refuses_alerts:
        # A connection attempt while the broker restarts may be refused, and is said once.
        warnings = [w for w in seen["warnings"] if "cannot connect to the broker" not in w]
        assert not warnings, warnings
