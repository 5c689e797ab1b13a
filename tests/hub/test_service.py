"""The hub service in-process against the real session mosquitto, with second-scale rules.

Real: mosquitto, the hub's own MQTT transport, the service, its SQLite
checkpoint and Apprise posting to an HTTP server on loopback. Stood in: the
chair, by a real MQTT client (paho) publishing what the firmware publishes.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from hubrig import Chair, alerts_on, hub_config

from hub.core.alerts import MOVES
from hub.core.facts import AlertSent, BoutEnded, DeskSample, Fact, OccupancyChanged, Snoozed
from hub.core.service import HubService
from hub.web.source import StatusSource
from hub.web.status import ServiceSource
from tests.support.mqttprobe import MqttProbe
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow


class ListHistory:
    """A history sink that keeps facts in a list (the real store is tested elsewhere)."""

    def __init__(self) -> None:
        self.facts: list[Fact] = []
        self.samples: list[tuple[float, list[DeskSample]]] = []
        self.started = self.closed = False

    def record(self, fact: Fact) -> None:
        self.facts.append(fact)

    def sample(self, ts: float, samples: list[DeskSample]) -> None:
        self.samples.append((ts, samples))

    def start(self) -> None:
        self.started = True

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def run_hub(mosquitto, prefix, tmp_path, probe):
    started: list[HubService] = []

    def start(**sections: Any) -> tuple[HubService, ListHistory]:
        cfg = hub_config(mosquitto.url, prefix, tmp_path / "state", **sections)
        history = ListHistory()
        service = HubService(cfg, history=history)
        service.start()
        started.append(service)
        wait_until(lambda: service.connected, what="hub connected")
        # the hub announces itself once subscribed; wait for that before chairs publish
        probe.subscribe(f"{prefix}/#")
        probe.wait_topic(f"{prefix}/_hub/status", where=lambda v: v == "online")
        return service, history

    yield start
    for service in started:
        service.stop()


def sitting_views(probe, topic: str) -> list[dict[str, Any]]:
    return [m.json() for m in probe.received(topic)]


def test_alert_arrives_within_a_second_of_the_limit_with_a_move(
    run_hub, probe, prefix, webhook, mosquitto
):
    port = webhook.server_address[1]
    service, history = run_hub(notify={"urls": [f"json://127.0.0.1:{port}/hook"]})
    chair = Chair(probe, prefix, "desk-1")
    chair.online()
    sat = chair.occupancy(True)
    cmd = f"{prefix}/desk-1/cmd"
    first = probe.wait_topic(cmd, timeout=10, where=lambda b: b.get("action") == "alert")
    body = first.json()
    assert body["level"] == 1
    assert body["move"] in MOVES
    assert first.retain is False
    assert first.at - sat <= 2 + 1.0
    assert first.at - sat >= 2 - 0.1
    # escalation: 2 then 3 then 3 again
    wait_until(lambda: len(alerts_on(probe, cmd)) >= 4, what="four alerts")
    assert [a["level"] for a in alerts_on(probe, cmd)[:4]] == [1, 2, 3, 3]
    moves = [a["move"] for a in alerts_on(probe, cmd)[:4]]
    assert len(set(moves)) == 4  # rotated, not repeated
    # the notification went through apprise to the local webhook
    wait_until(lambda: webhook.posts, what="webhook post")
    post = webhook.posts[0]
    assert "desk-1" in post["title"]
    assert body["move"] in post["message"]
    assert any(isinstance(f, AlertSent) and f.level == 1 for f in history.facts)
    assert any(isinstance(f, OccupancyChanged) and f.seated for f in history.facts)
    # the retained view says alerting, with the bout start from the device
    view = probe.wait_topic(f"{prefix}/desk-1/sitting", where=lambda v: v["state"] == "alerting")
    assert view.json()["since"] == pytest.approx(sat, abs=0.01)
    late = MqttProbe(mosquitto.host, mosquitto.port)
    try:
        late.subscribe(f"{prefix}/desk-1/sitting")
        kept = late.wait_topic(f"{prefix}/desk-1/sitting")
        assert kept.retain is True
        assert kept.json()["since"] == pytest.approx(sat, abs=0.01)
    finally:
        late.close()
    assert service.counters.snapshot()["alerts_out"] >= 4
    source = ServiceSource(service)
    assert isinstance(source, StatusSource)
    [page_view] = source.snapshot()
    assert (page_view.desk, page_view.state) == ("desk-1", "alerting")
    assert page_view.level >= 3
    assert source.counters()["alerts_out"] >= 4
    # standing clears at once
    chair.occupancy(False)
    probe.wait_topic(cmd, where=lambda b: b.get("action") == "clear")
    # samples are aligned to the period
    wait_until(lambda: history.samples, what="a sample")
    ts, samples = history.samples[0]
    assert ts == int(ts)
    assert [s.desk for s in samples] == ["desk-1"]


def test_short_stand_does_not_reset_the_bout(run_hub, probe, prefix):
    run_hub(sitting={"limit": 3})
    chair = Chair(probe, prefix, "desk-2")
    sat = chair.occupancy(True)
    time.sleep(1.4)
    # The stand and the return carry their own times (0.4 s apart: shorter than min_break,
    # 1 s) and go out back to back, so a pause of the test between them cannot lengthen it.
    chair.occupancy(False, ts=sat + 1.0)
    chair.occupancy(True, ts=sat + 1.4)
    cmd = f"{prefix}/desk-2/cmd"
    alert = probe.wait_topic(cmd, where=lambda b: b.get("action") == "alert")
    assert alert.at - sat <= 3 + 1.0  # counted from the first sit, not the return
    since = {
        v["since"]
        for v in sitting_views(probe, f"{prefix}/desk-2/sitting")
        if v["since"] is not None
    }
    assert sorted(since) == [pytest.approx(sat, abs=0.01)]


def test_real_break_ends_the_bout_and_the_next_starts_fresh(run_hub, probe, prefix):
    _, history = run_hub(sitting={"limit": 3})
    chair = Chair(probe, prefix, "desk-3")
    first = chair.occupancy(True)
    time.sleep(0.5)
    chair.occupancy(False)
    view = f"{prefix}/desk-3/sitting"
    probe.wait_topic(view, where=lambda v: v["state"] == "vacant" and v["since"] is None)
    ended = wait_until(lambda: [f for f in history.facts if isinstance(f, BoutEnded)])
    assert ended[0].ended_by == "break"
    assert ended[0].start == pytest.approx(first, abs=0.01)
    second = chair.occupancy(True)
    probe.wait_topic(f"{prefix}/desk-3/cmd", where=lambda b: b.get("action") == "alert")
    since = {v["since"] for v in sitting_views(probe, view) if v["since"] is not None}
    assert sorted(since) == [pytest.approx(first, abs=0.01), pytest.approx(second, abs=0.01)]
    assert second - first > 0.5


def test_sitting_back_too_soon_re_alerts_at_the_same_level(run_hub, probe, prefix):
    run_hub(sitting={"escalate_after": 5})
    chair = Chair(probe, prefix, "desk-4")
    chair.occupancy(True)
    cmd = f"{prefix}/desk-4/cmd"
    probe.wait_topic(cmd, where=lambda b: b.get("action") == "alert")
    chair.occupancy(False)
    probe.wait_topic(cmd, where=lambda b: b.get("action") == "clear")
    chair.occupancy(True)
    wait_until(lambda: len(alerts_on(probe, cmd)) >= 2, what="re-alert")
    assert [a["level"] for a in alerts_on(probe, cmd)] == [1, 1]


def test_snooze_clears_and_delays_the_next_alert(run_hub, probe, prefix):
    _, history = run_hub()
    chair = Chair(probe, prefix, "desk-5")
    chair.occupancy(True)
    cmd = f"{prefix}/desk-5/cmd"
    probe.wait_topic(cmd, where=lambda b: b.get("action") == "alert")
    pressed = chair.button("short")
    probe.wait_topic(cmd, where=lambda b: b.get("action") == "clear")
    probe.wait_topic(f"{prefix}/desk-5/sitting", where=lambda v: v["state"] == "snoozed")
    second = wait_until(lambda: alerts_on(probe, cmd)[1:], what="alert after snooze")[0]
    assert second["level"] == 2
    assert second["at"] - pressed >= 2 - 0.2  # snooze is 2 s
    assert any(isinstance(f, Snoozed) and f.press == "short" for f in history.facts)


def test_long_press_and_api_pause_silence_alerts(run_hub, probe, prefix):
    service, _ = run_hub(sitting={"pause": 3})
    long_chair = Chair(probe, prefix, "desk-6")
    api_chair = Chair(probe, prefix, "desk-7")
    long_chair.occupancy(True)
    sat = api_chair.occupancy(True)
    long_chair.button("long")
    wait_until(lambda: any(v.view.desk == "desk-7" for v in service.views()), what="desk-7")
    service.pause("desk-7")
    probe.wait_topic(f"{prefix}/desk-6/sitting", where=lambda v: v["state"] == "paused")
    probe.wait_topic(f"{prefix}/desk-7/sitting", where=lambda v: v["state"] == "paused")
    for desk in ("desk-6", "desk-7"):
        alert = probe.wait_topic(f"{prefix}/{desk}/cmd", where=lambda b: b.get("action") == "alert")
        assert alert.at - sat >= 3 - 0.2  # not at the 2 s limit: after the 3 s pause
    views = {v.view.desk: v for v in service.views()}
    assert views["desk-7"].view.seated_s >= 3  # time kept counting while paused


def test_duplicates_bad_input_and_unknown_topics_are_counted_not_fatal(run_hub, probe, prefix):
    service, history = run_hub(
        sitting={"limit": 60}, limits={"max_desks_per_prefix": 1, "max_payload": 300}
    )
    chair = Chair(probe, prefix, "desk-8")
    chair.occupancy(True)
    same = {
        "seated": True,
        "seq": chair.seq,
        "boot": chair.boot,
        "ts": time.time(),
        "uptime_ms": 1,
        "value": 1.0,
    }
    probe.publish(f"{prefix}/desk-8/occupancy", same)
    probe.publish(f"{prefix}/desk-8/occupancy", b"{not json")
    probe.publish(f"{prefix}/Bad Desk/occupancy", b"{}")
    probe.publish(f"{prefix}/desk-8/weird", b"{}")
    probe.publish(f"{prefix}/desk-8/telemetry", b" " * 301)
    Chair(probe, prefix, "desk-extra").occupancy(True)
    chair.occupancy(False)

    def counted() -> dict[str, int]:
        dropped = service.counters.snapshot()["dropped"]
        return dropped if sum(dropped.values()) >= 6 else {}

    dropped = wait_until(counted, what="drops counted")
    assert dropped["duplicate"] == 1
    assert dropped["bad_payload"] == 2
    assert dropped["bad_topic"] == 1
    assert dropped["too_large"] == 1
    assert dropped["too_many_desks"] == 1
    assert [v.view.desk for v in service.views()] == ["desk-8"]
    probe.wait_topic(f"{prefix}/desk-8/sitting", where=lambda v: v["state"] == "vacant")
    assert sum(isinstance(f, OccupancyChanged) for f in history.facts) == 2


def test_offline_device_freezes_then_ends_the_bout(run_hub, probe, prefix):
    _, history = run_hub(sitting={"limit": 30})
    chair = Chair(probe, prefix, "desk-9")
    chair.online()
    chair.occupancy(True)
    chair.offline()
    probe.wait_topic(f"{prefix}/desk-9/sitting", where=lambda v: v["state"] == "offline")
    ended = wait_until(lambda: [f for f in history.facts if isinstance(f, BoutEnded)])
    assert ended[0].ended_by == "offline"
