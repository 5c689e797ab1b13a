"""Hostile message streams through the hub service's own message handling.

Real: hub.core.service (topic split, payload parsing, dedupe, desk state machines,
deadline heap, SQLite checkpoint), driven exactly as its owner thread drives
it. Stood in: the broker link (a recorder of what the hub publishes), the
history store (a list) and the clock (moved by the test). Hypothesis draws
the messages: wrong types, huge numbers, NaN, deep JSON, invalid UTF-8,
timestamps far in the past and future, seq going backwards, a new boot id in
the middle of a bout, and clock jumps both ways.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.core.service import HubService
from tests.reliability.rig import (
    FakeClock,
    ListHistory,
    RecordingLink,
    deliver,
    hub_cfg,
    occupancy,
    tick,
)

DESKS = ["d1", "d2", "d3"]
ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

weird_numbers = st.sampled_from(
    [
        float("nan"),
        float("inf"),
        -float("inf"),
        10**400,
        -(10**30),
        2**53 + 1,
        -1,
        1e308,
        0.5,
        True,
        None,
        "7",
        [],
        {},
    ]
)
timestamps = st.one_of(
    st.none(),
    st.sampled_from([0, 1.0, 1e12, -5.0, float("nan")]),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=12,
)


@st.composite
def message(draw: st.DrawFn) -> tuple[str, bytes, float]:
    """One step: a topic, a payload and how far the clock moves first (may be negative)."""
    desk = draw(st.sampled_from([*DESKS, "D1", "_hub", "a" * 60, "x/y"]))
    kind = draw(
        st.sampled_from(
            ["occupancy", "button", "status", "telemetry", "info", "ack", "sitting", "cmd", "nope"]
        )
    )
    step = draw(
        st.sampled_from([0.0, 1.0, 5.0, 30.0, 61.0, 200.0, 3600.0, -30.0, -7200.0, 86400.0 * 3])
    )
    shape = draw(
        st.sampled_from(["good", "good", "good", "field", "junk", "deep", "utf8", "huge", "desk"])
    )
    body: dict[str, Any] = {
        "seated": draw(st.booleans()),
        "seq": draw(st.integers(0, 12)),
        "boot": draw(st.sampled_from(["b1", "b1", "b2", "b3"])),
        "ts": draw(timestamps),
        "uptime_ms": 5,
        "value": 1.0,
        "press": draw(st.sampled_from(["short", "long"])),
        "baseline": 1.0,
        "rssi": -60,
        "heap_free": 1000,
        "fw": "1",
        "reconnects": 0,
        "board": "b",
        "sensor": "adc",
        "mac": "m",
        "id": "h-1",
        "ok": draw(st.booleans()),
    }
    if shape == "field":
        key = draw(st.sampled_from(sorted(body)))
        body[key] = draw(weird_numbers | json_values)
    if shape == "desk":
        body["desk"] = draw(st.sampled_from([*DESKS, "elsewhere"]))
    if kind == "status":
        payload = draw(st.sampled_from([b"online", b"offline", b"\xff\xfe", b"", b"on line"]))
    elif shape == "junk":
        payload = draw(st.binary(max_size=40))
    elif shape == "deep":
        depth = draw(st.integers(5, 5000))
        payload = b'{"a":' * depth + b"1" + b"}" * depth
    elif shape == "utf8":
        payload = json.dumps(body).encode()[:-1] + b"\xc3\x28}"
    elif shape == "huge":
        payload = json.dumps({**body, "seq": 10**400}).encode()
    else:
        payload = json.dumps(body, allow_nan=True).encode()
    return f"rel/{desk}/{kind}", payload, step


def make_service(tmp_path: Any) -> tuple[HubService, FakeClock, RecordingLink, ListHistory]:
    cfg = hub_cfg(tmp_path, schedule={"days": ALL_DAYS})
    clock, link, history = FakeClock(), RecordingLink(), ListHistory()
    service = HubService(cfg, history=history, transport=link, clock=clock)
    return service, clock, link, history


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(message(), max_size=40))
def test_hostile_streams_never_crash_never_alert_a_vacant_desk_never_stick(tmp_path_factory, steps):
    service, clock, link, _ = make_service(tmp_path_factory.mktemp("fuzz"))
    latest = clock()
    try:
        for topic, payload, step in steps:
            clock.advance(step)
            latest = max(latest, clock())
            before = len(link.sent)
            deliver(service, clock, topic, payload)
            for desk_id, desk in service.desks.items():
                sent_now = [
                    json.loads(p) for t, p, _ in link.sent[before:] if t == f"rel/{desk_id}/cmd"
                ]
                if any(c["action"] == "alert" for c in sent_now):
                    assert desk.view(clock()).state not in ("vacant", "offline"), (desk_id, steps)
        assert service.counters.snapshot()["dropped"].get("internal_error", 0) == 0

        # Not stuck: from wherever the stream left a desk, a fresh boot standing up ends the
        # bout and stops the alerts, and the next long sit alerts again at level 1.
        clock.now = latest + 120
        for desk_id in service.desks:
            deliver(service, clock, f"rel/{desk_id}/occupancy", occupancy(False, 0, None, "fin"))
        tick(service, clock, 21)
        quiet_from = len(link.sent)
        tick(service, clock, 300)
        for desk_id, desk in service.desks.items():
            # offline too is a right answer: a desk that sent telemetry and then fell silent
            assert desk.view(clock()).state in ("vacant", "offline"), desk_id
            assert desk.view(clock()).level == 0
        assert not [t for t, _, _ in link.sent[quiet_from:] if t.endswith("/cmd")]
        for desk_id in service.desks:
            deliver(service, clock, f"rel/{desk_id}/status", b"online")
            deliver(service, clock, f"rel/{desk_id}/occupancy", occupancy(True, 1, None, "fin"))
        quiet_from = len(link.sent)
        tick(service, clock, 61)
        for desk_id in service.desks:
            fresh = [
                json.loads(p) for t, p, _ in link.sent[quiet_from:] if t == f"rel/{desk_id}/cmd"
            ]
            assert [c.get("level") for c in fresh if c["action"] == "alert"] == [1], desk_id
    finally:
        service.checkpoint.close()


def test_contract_breakers_are_counted_by_reason(tmp_path):
    service, clock, link, history = make_service(tmp_path)
    try:
        deliver(service, clock, "rel/d1/occupancy", occupancy(True, 5, clock()))
        deliver(service, clock, "rel/d1/occupancy", occupancy(False, 4, clock()))  # backwards
        deliver(service, clock, "rel/d1/occupancy", b'{"seated": true, "seq": NaN}')
        deliver(service, clock, "rel/d1/occupancy", b'{"a":' * 3000 + b"1" + b"}" * 3000)
        deliver(service, clock, "rel/d1/telemetry", b'{"ts": 1, "value": "\xff"}')
        body = json.loads(occupancy(False, 6, clock()))
        deliver(service, clock, "rel/d1/occupancy", json.dumps({**body, "desk": "d2"}).encode())
        deliver(service, clock, "rel/Not A Desk/occupancy", occupancy(True, 1, clock()))
        dropped = service.counters.snapshot()["dropped"]
        assert dropped == {"duplicate": 1, "bad_payload": 3, "desk_mismatch": 1, "bad_topic": 1}
        assert service.desks["d1"].view(clock()).state == "seated"  # nothing above moved it
        # A desk naming itself correctly is fine; a new boot mid-bout starts a new sequence.
        deliver(
            service,
            clock,
            "rel/d1/occupancy",
            json.dumps({**body, "desk": "d1", "boot": "b9", "seq": 0}).encode(),
        )
        assert service.desks["d1"].view(clock()).state == "vacant"
        assert len(history.facts) >= 2
        assert not link.alerts()
    finally:
        service.checkpoint.close()
