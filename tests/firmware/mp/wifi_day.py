# ruff: noqa: UP031 - MicroPython code: %-formatting is its idiom, the test reads print
# MicroPython only: the firmware's App through a WiFi and router fault, at the real defaults.
# The network task runs for real (its sockets, its back-off, its WiFi rejoin, on the real
# clock); sampling and the health check (which looks at the radio once a second) run on an
# injected clock, which follows the real one while the link is being lost or found again,
# and races ahead through the outage itself.
# argv[1]: the broker's (the router's) port. Runs in the board's folder; the test drives the
# fake access point (the `wifi` file in SITLESS_FAKE_DIR) and the router, reading the STEP
# lines printed here.
import asyncio
import sys
import time

import machine
import network as radio
from sitless import board, commands, config
from sitless.app import App

SAMPLE = 50  # ms, the default sample period
SECOND = 1000 // SAMPLE
MIN = 60_000
SEATED = 1_600_000
EMPTY = 100_000
NET_WAIT_MS = 150_000  # the longest real wait for the network to do something

cfg = config.check(
    {
        "desk": "d1",
        "wifi_ssid": "office",
        "wifi_password": "pw",
        "mqtt_host": "127.0.0.1",
        "mqtt_port": int(sys.argv[1]),
    }
)


class TestApp(App):
    """The firmware's App; the hub's status, which arrives on the real clock, is applied at
    the injected clock's time (the one the chair's bout is timed on)."""

    def set_hub(self, online):
        level = self.chair.hub(online, clock.now)
        if level is not None:
            self.actuators.alert(level)


class Clock:
    def __init__(self, now):
        self.now = now
        self.mark = now  # the bout's first seated sample
        self.alerts = []  # (bout ms, level, connected) each time the chair (re)issues an alert
        self.samples = 0

    def sample(self, reading):
        machine.INPUTS["adc34"] = reading
        self.now = time.ticks_add(self.now, SAMPLE)
        app.sample_once(self.now)
        alert = app.chair.alert
        if alert is not None:
            self.alerts.append((time.ticks_diff(self.now, self.mark), alert, app.client.connected))
        self.samples += 1
        if self.samples % SECOND == 0:
            app._health(self.now, None)

    async def fast(self, ms, reading):
        """`ms` of the chair's time as fast as it goes, letting the network task run."""
        for i in range(ms // SAMPLE):
            self.sample(reading)
            if i % SECOND == 0:
                await asyncio.sleep_ms(0)

    async def real(self, done, reading, what):
        """Sample on the real clock until `done()`; at most NET_WAIT_MS."""
        start = last = time.ticks_ms()
        while not done():
            now = time.ticks_ms()
            if time.ticks_diff(now, start) > NET_WAIT_MS:
                print("TIMEOUT", what)
                sys.exit(1)
            while time.ticks_diff(now, last) >= SAMPLE:
                last = time.ticks_add(last, SAMPLE)
                self.sample(reading)
            await asyncio.sleep_ms(10)

    def press(self):
        commands.press(app, False, self.now)


def settled():
    return app.client.connected and not len(app.outbox) and app.inflight is None


async def main():
    network = asyncio.create_task(app._network())
    await clock.real(
        lambda: app.client.connected and app.chair.fallback.hub_online,
        EMPTY,
        "the first connect and the hub's status",
    )
    await clock.fast(10_000, EMPTY)
    clock.mark = time.ticks_add(clock.now, SAMPLE)  # the next sample is the first seated
    await clock.fast(10 * MIN, SEATED)  # the hub is there: the chair only times the bout
    await clock.real(settled, SEATED, "the events acknowledged")
    print("STEP settled seq=%d" % app.chair.seq)
    # The test takes the access point and the router away: the chair notices by itself, from
    # its radio within its next health check (a second), not from the MQTT keepalive (30 s).
    await clock.real(lambda: radio.access_point() != "up", SEATED, "the access point gone")
    gone_at = clock.now
    await clock.real(lambda: not app.client.connected, SEATED, "the link lost")
    print(
        "STEP lost at=%d after=%d why=%s"
        % (
            time.ticks_diff(clock.now, clock.mark),
            time.ticks_diff(clock.now, gone_at),
            app.client.why_down.replace(" ", "_"),
        )
    )
    await clock.real(lambda: not app.chair.fallback.hub_online, SEATED, "the hub gone")
    # The outage: the bout goes on to its limit (30:00), a snooze, standing up for a minute.
    await clock.fast(30 * MIN + 10_000 - time.ticks_diff(clock.now, clock.mark), SEATED)
    clock.press()  # a snooze: granted offline by the chair's own rules, the next alert at 40:10
    await clock.fast(11 * MIN, SEATED)
    await clock.fast(MIN, EMPTY)  # not a real break (2:00): the bout goes on
    await clock.fast(2 * MIN, SEATED)
    print(
        "STEP offline seq=%d connected=%d stored=%d"
        % (app.chair.seq, app.client.connected, len(app.outbox))
    )
    await clock.real(settled, SEATED, "the rejoin and the backfill")
    await clock.real(lambda: app.chair.fallback.hub_online, SEATED, "the hub's status again")
    print("STEP back seq=%d connects=%d" % (app.chair.seq, app.connects))
    print("ALERTS %s" % ";".join("%d,%d,%d" % a for a in clock.alerts))
    network.cancel()


machine.RTC().memory(b"")  # a power-on: nothing kept
clock = Clock(time.ticks_ms())
app = TestApp(
    cfg, board.Board(cfg), calib_path="/dev/null", now=clock.now, outbox_path="outbox.bin"
)
asyncio.run(main())
