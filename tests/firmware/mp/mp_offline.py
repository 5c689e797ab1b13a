# ruff: noqa: PTH123, UP031 - MicroPython code: no pathlib, and %-formatting is its idiom
# MicroPython only: the chair's promise without a hub, at the real defaults (30 min limit,
# 2 min break, 5 min escalation, 10 min snooze), with the firmware's own App driven by an
# injected clock: every sample of the working time is taken, only faster than real time.
import time

import machine
from harness import run
from sitless import board, call, start
from sitless.commands import REFUSED
from sitless.app import App

MIN = 60_000
SAMPLE = 50  # ms, the default sample period
SEATED = 1_600_000
EMPTY = 100_000


def config(**extra):
    cfg = {"desk": "d1", "transport": "wifi", "wifi_ssid": "x", "mqtt_host": "127.0.0.1",
           "mqtt_port": 9}  # nothing listens there: no broker at all
    cfg.update(extra)
    from sitless import config as checker

    return checker.check(cfg)


class Clock:
    """Drives one App: a sample every 50 ms and the health check every second, as its loop."""

    def __init__(self, app, now):
        self.app = app
        self.now = now  # ticks
        self.alerts = []  # (ms since `mark`, level) each time the chair (re)issued an alert
        self.mark = now
        self.samples = 0

    def run(self, ms, reading):
        machine.INPUTS["adc34"] = reading
        for _ in range(ms // SAMPLE):
            self.now = time.ticks_add(self.now, SAMPLE)
            self.app.sample_once(self.now)
            if self.app.chair.alert is not None:
                self.alerts.append((time.ticks_diff(self.now, self.mark), self.app.chair.alert))
            self.samples += 1
            if self.samples % (1000 // SAMPLE) == 0:
                self.app._health(self.now, None)


def app(cfg, boot, now):
    return App(cfg, board.Board(cfg), boot=boot, calib_path="/dev/null", now=now)


def fresh(cfg=None):
    machine.RTC().memory(b"")  # a power-on: nothing kept
    now = time.ticks_ms()
    return Clock(app(cfg or config(), "t", now), now)


def sit_down(clock):
    """Sit down now; returns the ms mark at the first seated sample (the bout's start)."""
    clock.run(10_000, EMPTY)
    clock.mark = time.ticks_add(clock.now, SAMPLE)  # the next sample is the first that crosses
    clock.alerts = []
    return clock.mark


def test_no_broker_buzzes_at_30_and_escalates_at_35_and_40():
    clock = fresh()
    sit_down(clock)
    clock.run(41 * MIN, SEATED)  # 15 minutes without a broker pass twice: no reboot, seated
    assert [level for _, level in clock.alerts] == [1, 2, 3], clock.alerts
    for (at, _), due in zip(clock.alerts, (30 * MIN, 35 * MIN, 40 * MIN)):
        assert due <= at <= due + SAMPLE, clock.alerts  # to one sample
    assert clock.app.actuators.level == 3
    # Standing up silences it; once no bout is left to time, the board may reboot.
    clock.run(2 * MIN, EMPTY)
    assert clock.app.actuators.level == 0
    rebooted = False
    try:
        clock.run(MIN, EMPTY)
    except SystemExit:
        rebooted = True
    assert rebooted
    assert machine.EVENTS[-1] == ("reset",)


def test_a_reset_mid_bout_keeps_the_bout():
    clock = fresh()
    start = sit_down(clock)
    clock.run(20 * MIN, SEATED)
    # The watchdog (or anything) resets the board: a new App, the RTC memory kept.
    again = Clock(app(config(), "u", clock.now), clock.now)
    again.mark = start
    again.run(11 * MIN, SEATED)
    assert again.alerts, again.alerts
    at, level = again.alerts[0]
    assert level == 1
    # Kept once a second: at most a second of the bout is lost, never the bout.
    assert 30 * MIN - 1000 <= at <= 30 * MIN + SAMPLE, again.alerts


def test_a_corrupt_kept_state_is_ignored():
    clock = fresh()
    sit_down(clock)
    clock.run(20 * MIN, SEATED)
    kept = bytearray(machine.RTC().memory())
    kept[10] ^= 0xFF  # one flipped byte: the checksum no longer matches
    machine.RTC().memory(bytes(kept))
    assert start.kept() is None
    again = Clock(app(config(), "u", clock.now), clock.now)
    again.mark = again.now
    again.run(11 * MIN, SEATED)
    assert not again.alerts  # a new bout: its limit is 30 minutes from the reset


def test_strict_mode_four_presses_never_silence_the_alert():
    clock = fresh(config(strict=True))
    sit_down(clock)
    clock.run(30 * MIN + 100, SEATED)
    app = clock.app
    assert app.actuators.level == 1
    for _ in range(4):
        clock.run(MIN // 2, SEATED)
        call("commands", "press", app, False, clock.now)
        assert not app.chair.granted
        assert app.actuators.once == REFUSED  # the short double buzz
        assert app.actuators.level == 1  # and the alert goes on
    clock.run(3 * MIN + 100, SEATED)
    assert [level for _, level in clock.alerts] == [1, 2], clock.alerts
    presses = [e for e in list_outbox(app) if e[0] == "button"]
    assert len(presses) == 4  # every press still reaches the hub


def test_snoozes_are_granted_up_to_max_snoozes():
    clock = fresh(config(max_snoozes=3))
    sit_down(clock)
    clock.run(30 * MIN + 100, SEATED)
    app = clock.app
    for _ in range(3):
        assert app.actuators.level > 0
        call("commands", "press", app, False, clock.now)
        assert app.chair.granted
        assert app.actuators.level == 0  # offline, the board grants it itself
        clock.run(10 * MIN + 100, SEATED)  # a snooze later: back, a level higher
    assert app.actuators.level == 3
    call("commands", "press", app, False, clock.now)
    assert not app.chair.granted
    assert app.actuators.level == 3


def list_outbox(app):
    out = []
    while len(app.outbox):
        out.append(app.outbox.pop())
    return out


def break_of(ms):
    """Sit 10 min, stand for `ms`, sit again: the events and the alerts after."""
    clock = fresh()
    first = sit_down(clock)
    clock.run(10 * MIN, SEATED)
    clock.run(ms, EMPTY)
    second = time.ticks_diff(time.ticks_add(clock.now, SAMPLE), first)
    clock.run(31 * MIN, SEATED)
    events = [e for e in list_outbox(clock.app) if e[0] == "occupancy"]
    return clock, events, first, second


def test_a_break_of_120_1_s_ends_the_bout():
    clock, events, first, second = break_of(120_100)
    seated = [e for e in events if e[1]]
    vacant = [e for e in events if not e[1]]
    # Transition times are their first crossing samples': the break is 120.1 s to the sample.
    assert seated[-1][4] - vacant[-1][4] == 120_100, events
    assert seated[-2][4] + 10 * MIN == vacant[-1][4], events
    # The local timer agrees: a new bout, its alert 30 minutes after sitting down again.
    at = clock.alerts[0][0]  # from the first sit-down
    assert second + 30 * MIN <= at <= second + 30 * MIN + SAMPLE, (at, second)


def test_a_break_of_1_59_does_not_end_the_bout():
    clock, events, _, _ = break_of(119_000)
    seated = [e for e in events if e[1]]
    vacant = [e for e in events if not e[1]]
    assert seated[-1][4] - vacant[-1][4] == 119_000, events
    at = clock.alerts[0][0]
    # The bout went on through the short stand: its alert is due 30 minutes from the start.
    assert 30 * MIN <= at <= 30 * MIN + SAMPLE, at


def test_the_flash_outbox_drops_the_oldest_and_skips_a_torn_record():
    import os

    from sitless.outbox import Outbox

    path = (os.getenv("SITLESS_TEST_TMP") or ".") + "/spool.bin"
    box = Outbox(path=path, slots=8)
    for seq in range(11):
        box.push(("occupancy", seq % 2 == 0, seq, None, seq * 1000, 5), "b1")
    assert len(box) == 8
    assert box.dropped == 3  # the oldest three gave way, counted
    assert box.pop()[2] == 3
    # A power cut in the middle of writing the next record: its bytes no longer match.
    with open(path, "r+b") as f:
        f.seek((4 % 8) * 48 + 20)
        f.write(b"garbage")
    again = Outbox(path=path, slots=8)  # the next boot
    seqs = []
    while len(again):
        item = again.pop()
        seqs.append(item[2])
        assert item[6] == "b1"
    assert seqs == [5, 6, 7, 8, 9, 10]
    assert again.dropped == 1  # the torn one, skipped and counted


run(globals())
