"""Random event sequences against the pure state machine.

Real: hub.core.sitting. Stood in: nothing; hypothesis draws the events and the
times, including clock jumps backwards and forwards.
"""

from __future__ import annotations

import math

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.core.facts import BoutEnded
from hub.core.sitting import MAX_LEVEL, Desk, Rules, SendAlert

T0 = 1_764_000_000.0
RULES = Rules(
    limit=30, min_break=10, escalate_after=5, snooze=8, max_snoozes=2, pause=20, telemetry_period=6
)

events = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "sit",
                "stand",
                "short",
                "long",
                "online",
                "offline",
                "telemetry",
                "tick",
                "pause",
                "restart",
            ]
        ),
        st.floats(min_value=-5, max_value=40, allow_nan=False),
    ),
    max_size=80,
)


def _apply(desk: Desk, kind: str, t: float) -> list:
    handlers = {
        "sit": lambda: desk.on_occupancy(True, t),
        "stand": lambda: desk.on_occupancy(False, t),
        "short": lambda: desk.on_button("short", t),
        "long": lambda: desk.on_button("long", t),
        "online": lambda: desk.on_status(True, t),
        "offline": lambda: desk.on_status(False, t),
        "telemetry": lambda: desk.on_telemetry(t),
        "pause": lambda: desk.pause(5, t),
    }
    if kind in handlers:
        return handlers[kind]() + desk.on_tick(t)
    return desk.on_tick(t)


@settings(max_examples=300, deadline=None)
@given(events)
def test_random_sequences_keep_every_promise(seq):
    desk = Desk("d1", RULES)
    clock = T0
    last_level = 0
    for kind, step in seq:
        clock += step
        if kind == "restart":
            saved = orjson.loads(orjson.dumps(desk.record))  # as the checkpoint stores it
            assert saved == desk.snapshot()
            desk = Desk("d1", RULES)
            desk.restore(saved)
            desk.resume(clock)
            continue
        was_seated = desk._s.seated
        out = _apply(desk, kind, clock)
        for decision in out:
            if isinstance(decision, BoutEnded):
                last_level = 0
                assert decision.end >= decision.start
                assert decision.max_level <= MAX_LEVEL
            if isinstance(decision, SendAlert):
                # never a vacant or offline desk
                assert desk._s.seated
                assert desk._s.online
                assert 1 <= decision.level <= MAX_LEVEL
                if decision.resumed:
                    # the documented re-alert: same level, only on sitting back down
                    assert kind == "sit"
                    assert not was_seated
                    assert decision.level == last_level
                elif decision.level == last_level:
                    # the documented repeat of level 3, nothing else twice
                    assert decision.level == MAX_LEVEL
                else:
                    assert decision.level == last_level + 1
                last_level = decision.level
        # at most one escalation per call: no bursts
        assert sum(isinstance(d, SendAlert) for d in out) <= 1
        deadline = desk.next_deadline(clock)
        assert deadline is None or math.isfinite(deadline)
        view = desk.view(clock)
        assert view.seated_s >= 0
        assert view.level == last_level


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=3, allow_nan=False), min_size=1, max_size=200))
def test_deadline_ticks_make_progress(steps):
    """Ticking at each deadline never finds the same deadline again (no busy loop)."""
    desk = Desk("d1", RULES)
    desk.on_telemetry(T0)
    desk.on_occupancy(True, T0)
    clock = T0
    for step in steps:
        clock += step
        due = desk.next_deadline(clock)
        if due is not None and due <= clock:
            desk.on_tick(clock)
            after = desk.next_deadline(clock)
            assert after is None or after > clock
