"""The firmware's tasks, wired together on one asyncio loop.

sampling → Chair (pure logic) → outbox → network task → MQTT; commands and
the hub's status come back through the MQTT client (or the serial link). Three
tasks: the sampling loop (which also reads the button, steps the alert
pattern and, once a second, checks health: it feeds the watchdog only while
sampling is alive and reboots after a long time without the broker), the
network task (bringing the link up, then, while it stays up, reading it
through the MQTT client, keeping it alive and sending) and the serial link's
reader. No task waits on another: each sleeps on its own
schedule.
"""

import asyncio
import gc
import time

from sitless import payload, serial_link, unload
from sitless.compat import const

CALIB_FILE = "calib.json"
_HEALTH_MS = const(1000)
_OFFLINE_REBOOT_MS = const(900_000)  # 15 minutes
_CALIB_SAVE_MS = const(600_000)  # 10 minutes
_SAVE_DRIFT_PERCENT = const(2)  # of the span: a baseline that moved this far is saved
_NTP_RETRY_MS = const(600_000)  # 10 minutes
_NTP_REFRESH_MS = const(21_600_000)  # 6 hours
_BACKOFF_MAX_MS = const(30_000)
_HEALTHY_AFTER_MS = const(60_000)
_TICK_MS = const(50)  # the sampling loop looks at the button and the alert at least this often
_HELD_TICK_MS = const(20)  # and this often while the button is held
_LINK_TICK_MS = const(10)  # the network task looks at the link this often while it is up


class App:
    """The running firmware; `start` builds it and starts its tasks (code needed once only)."""

    def __init__(self, cfg, board, boot=None, saved_calib=None, calib_path=CALIB_FILE,
                 config_path="config.json", offline_reboot_ms=_OFFLINE_REBOOT_MS,
                 on_healthy=None):
        from sitless import start

        start.app(self, cfg, board, boot, saved_calib, calib_path, config_path,
                  offline_reboot_ms, on_healthy)

    # ----- sampling -------------------------------------------------------

    def sample_once(self, now_ms):
        """One sensor reading through the chair's logic; all the sampling task does."""
        raw = self.sensor.read(now_ms)
        event = self.chair.sample(now_ms, raw)
        self.samples += 1
        if event is not None:
            self.emit(event)
        if self.chair.alert is not None:
            self.actuators.alert(self.chair.alert)
        if self.streaming and raw is not None:
            print(serial_link.raw_line(raw, self.chair.value))

    async def _sampling(self, watchdog=None):
        """The app's clock: sample when due, read the button, step the alert, check health.

        One task instead of four, each a few lines per tick: a task costs RAM
        for its frame, and the button needs no interrupt when it is read here.
        A failing reading is logged (sparingly) and sampling goes on; only
        good samples count for the watchdog, so a sensor that fails for good
        still ends in a reset.
        """
        errors = 0
        button = self.button
        now = time.ticks_ms()
        sample_at = now
        health_at = time.ticks_add(now, _HEALTH_MS)
        while True:
            now = time.ticks_ms()
            if time.ticks_diff(now, sample_at) >= 0:
                # Samples keep to a fixed grid and carry their slot's time, so the hold ends
                # on the slot it is due at: a wake-up a millisecond late neither adds up
                # over the hold nor costs a whole period. A whole period behind starts anew.
                if time.ticks_diff(now, sample_at) >= self.cfg["sample_ms"]:
                    sample_at = now
                try:
                    self.sample_once(sample_at)
                except Exception as exc:  # noqa: BLE001 - one bad reading must not stop sampling
                    errors += 1
                    if errors & (errors - 1) == 0:  # the 1st, 2nd, 4th, 8th... failure
                        print("sample: failed %d times, last: %r" % (errors, exc))
                sample_at = time.ticks_add(sample_at, self.cfg["sample_ms"])
            wait = min(self.actuators.play(now), time.ticks_diff(sample_at, now), _TICK_MS)
            if button is not None:
                press = button.poll(now)  # True: a long press (a meeting), False: a snooze
                if press is not None:
                    self.emit(self.chair.press(press, now))
                    if not press:
                        self.actuators.alert(0)  # a snooze silences at once; the hub confirms
                    elif self.chair.alert is not None:
                        self.actuators.alert(self.chair.alert)
                if button.down is not None:
                    wait = min(wait, _HELD_TICK_MS)
            if time.ticks_diff(now, health_at) >= 0:
                health_at = time.ticks_add(now, _HEALTH_MS)
                self._health(now, watchdog)
            await asyncio.sleep_ms(wait)

    # ----- messages -------------------------------------------------------

    def emit(self, event):
        """Hand one event to the link: the console always, the outbox over WiFi.

        The outbox keeps the event's numbers; it is encoded again when sent.
        """
        serial_link.send(event[0], payload.encode(self.chair.boot, event))
        if self.client is not None:
            self.outbox.push(event)  # the network task sends it at its next look

    def _set_hub(self, online):
        level = self.chair.hub(online, time.ticks_ms())
        if level is not None:
            self.actuators.alert(level)

    def _on_message(self, topic, body, retained):
        if topic == self.cfg["prefix"] + "/_hub/status":
            self._set_hub(bytes(body) == b"online")
        elif topic == self.base + "cmd":
            self.command(body, retained)

    def _on_line(self, kind, body):
        """A host line from the serial link (`cmd`, `hub`, `stream`): handled like a command."""
        self.use("commands", "line", self, kind, body)

    def command(self, body, retained=False):
        """Check and carry out one command; that code is loaded for it and dropped after."""
        self.use("commands", "run", self, body, retained)

    def use(self, module, name, *args):
        """Call `name` in a module needed only now and then, loaded for it and dropped after.

        `commands` (a command, saving the baseline) and `link` (info, NTP) are used so.
        """
        try:
            return getattr(__import__("sitless." + module, None, None, (name,)), name)(*args)
        finally:
            unload(module)

    # ----- network --------------------------------------------------------

    async def _network(self):
        """Bring the link up, run it while it is up, and again after a back-off when it is not.

        The code to bring it up is loaded for each attempt and dropped after.
        While the link is up this task is the connection's only one: every
        few milliseconds it lets the client handle what came (acks, commands,
        the hub's status) and keep the link alive, then sends the
        telemetry and the outbox in order, one acknowledged message at a
        time. A message whose PUBACK did not come before the link dropped
        stays `inflight`: the client resends it after the reconnect, so it is
        waited for, not published a second time.
        """
        client = self.client
        outbox = self.outbox
        backoff = 1000
        while True:
            # `use` drops the module at once; the attempt keeps its code alive until it ends.
            if await self.use("link", "up", self):
                self.connects += 1
                backoff = 1000
                while client.connected:
                    item = client.step()  # a packet came or a ping is due: see to it first
                    if item is not None:
                        await item
                        continue
                    item = self.heartbeat
                    if item is not None and client.connected:
                        self.heartbeat = None
                        try:
                            await client.publish(self.base + "telemetry", item)
                        except OSError:
                            pass
                    item = self.inflight  # (the outbox's item, its packet id) or None
                    if item is not None and item[1] not in client.pending:  # acknowledged
                        self.inflight = None
                        outbox.pop(item[0])  # unless it was dropped meanwhile
                        item = None
                    if item is None and client.connected:
                        item = outbox.peek()
                        if item is not None:
                            try:
                                self.inflight = (item, await client.publish(
                                    self.base + item[0], payload.encode(self.chair.boot, item),
                                    item[0] == "occupancy", 1))
                            except Exception as exc:  # noqa: BLE001 - a message that cannot go must not block the rest
                                print("publish: dropped %s: %r" % (item[0], exc))
                                outbox.pop(item)
                                continue
                    await asyncio.sleep_ms(_LINK_TICK_MS)
                print("mqtt: link lost:", client.why_down)
            self._set_hub(False)
            await asyncio.sleep_ms(backoff)
            backoff = min(backoff * 2, _BACKOFF_MAX_MS)

    def _health(self, now, watchdog):
        """Once a second: watchdog, telemetry, reboot without a broker, the drifted baseline, NTP."""
        if time.ticks_diff(now, self._beat_at) >= self.cfg["telemetry_s"] * 1000:
            self._beat_at = now
            chair = self.chair
            cal = chair.calib
            extra = {"dropped": self.outbox.dropped, "rejected": cal.rejected,
                     "drift": cal.baseline - cal.empty}
            rssi = self.board.wlan  # the signal strength, read here rather than by a method
            try:
                rssi = int(rssi.status("rssi")) if rssi and rssi.isconnected() else None
            except (OSError, ValueError, TypeError):
                rssi = None
            body = payload.telemetry(self.board.unix_ms(), chair.uptime_ms, chair.value,
                                     cal.baseline, rssi, gc.mem_free(),
                                     max(self.connects - 1, 0), extra)
            serial_link.send("telemetry", body)
            if self.client is not None:
                self.heartbeat = body  # sent (the latest only) when the link can take it
        if self.samples != self._fed:  # feed only while sampling is alive
            self._fed = self.samples
            if watchdog is not None:
                watchdog.feed()
        client = self.client
        if client is not None:
            if client.connected:
                self._online_at = now
            elif time.ticks_diff(now, self._online_at) >= self.offline_reboot_ms:
                print("health: no broker for too long; rebooting")
                self.board.reset()
        if time.ticks_diff(now, self._calib_at) >= _CALIB_SAVE_MS:
            self._calib_at = now
            cal = self.chair.calib
            if abs(cal.baseline - cal.saved_baseline) * 100 > cal.span * _SAVE_DRIFT_PERCENT:
                self.use("commands", "save_calib", self)
        ntp_every = _NTP_REFRESH_MS if self.board.clock_synced else _NTP_RETRY_MS
        if time.ticks_diff(now, self._ntp_at) >= ntp_every and client and client.connected:
            self._ntp_at = now  # the first sync happens at connect; this keeps it fresh
            self.use("link", "sync_time", self.board)
        if self.on_healthy is not None and self.chair.uptime_ms >= _HEALTHY_AFTER_MS:
            self.on_healthy()  # a minute of sampling: this boot counts as a good one
            self.on_healthy = None

    # ----- start ----------------------------------------------------------

    def tasks(self, watchdog=None):
        """Start every task; returns them (the tests cancel them). Drops the start-up code.

        `watchdog`: an object to feed, True for the board's own (30 s), or None.
        """
        from sitless import start

        try:
            return start.tasks(self, watchdog)
        finally:
            unload("start")

    async def main(self):
        """Run forever (on the board)."""
        self.tasks(True)
        while True:
            await asyncio.sleep_ms(60_000)
