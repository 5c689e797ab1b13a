"""The firmware's tasks, wired together on one asyncio loop.

sampling → Chair (pure logic) → outbox → network task → MQTT; commands and
the hub's status come back through the MQTT client (or the serial link). Three
tasks: the sampling loop (which also reads the button, steps the alert
pattern and, once a second, checks health: it feeds the watchdog only while
sampling is alive, closes the link as soon as the radio has lost its access
point and reboots after a long time without the broker), the
network task (bringing the link up, then, while it stays up, reading it
through the MQTT client, keeping it alive and sending) and the serial link's
reader. No task waits on another: each sleeps on its own
schedule.
"""

import asyncio
import time

from sitless import call, payload, serial_link, unload
from sitless.chair import Chair
from sitless.compat import const
from sitless.mqtt import MQTTClient
from sitless.outbox import Outbox

CALIB_FILE = "calib.json"
_HEALTH_MS = const(1000)
_OFFLINE_REBOOT_MS = const(900_000)  # 15 minutes
_BACKOFF_MAX_MS = const(30_000)
_STABLE_MS = const(60_000)  # a link up this long resets the back-off
_TICK_MS = const(50)  # the sampling loop looks at the button and the alert at least this often
_HELD_TICK_MS = const(20)  # and this often while the button is held
_LINK_TICK_MS = const(10)  # the network task looks at the link this often while it is up
_KEEPALIVE_S = const(30)


class App:
    """The running firmware; `start` builds it and starts its tasks (code needed once only)."""

    def __init__(
        self,
        cfg,
        board,
        boot=None,
        saved_calib=None,
        calib_path=CALIB_FILE,
        config_path="config.json",
        offline_reboot_ms=_OFFLINE_REBOOT_MS,
        on_healthy=None,
        now=None,
        outbox_path=None,
    ):
        # Every field is set here; `start` only builds the parts on their pins (code needed
        # once: it is dropped when the tasks run).
        from sitless import start

        self.cfg = cfg
        self.board = board
        self.calib_path = calib_path
        self.config_path = config_path
        self.offline_reboot_ms = offline_reboot_ms
        self.on_healthy = on_healthy
        if now is None:  # (tests that drive the clock pass their own ticks)
            now = time.ticks_ms()
        # (ticks are small ints on the board; the stubs give them a type of their own)
        self.chair = Chair(cfg, boot or start.boot_id(), saved_calib, now)  # pyright: ignore[reportArgumentType]
        self.chair.wall = board.unix_ms
        start.restore(self.chair.fallback, now)  # the bout from before a reset, if it survived
        self.outbox = Outbox(path=outbox_path)  # main.py gives it its file in flash
        self.heartbeat = None  # the telemetry waiting for the sender
        self.inflight = None  # (item, packet id): sent, its PUBACK not yet seen
        self.sensor = start.sensor(cfg)
        self.actuators = start.actuators(cfg)
        self.button = start.button(cfg)
        # The health check's clocks (ticks): the last heartbeat and telemetry, the broker last
        # seen, the last look at the baseline and the last NTP sync; and the sample count the
        # watchdog was fed at.
        self.beat_at = self.tele_at = self.online_at = self.calib_at = self.ntp_at = now
        self.fed = -1
        self.streaming = False
        self.samples = 0
        self.connects = 0
        self.base = "%s/%s/" % (cfg["prefix"], cfg["desk"])  # + kind is the topic
        unload("start")  # loaded again to start the tasks
        self.client = None  # None: the serial link carries the messages instead
        if cfg["transport"] != "serial":
            # No task of its own: the network task calls its `step` while the link is up.
            self.client = MQTTClient(
                "sitless-" + cfg["desk"],
                cfg["mqtt_host"],
                cfg["mqtt_port"],
                cfg["mqtt_user"],
                cfg["mqtt_password"],
                _KEEPALIVE_S,
                (self.base + "status", "offline", True, 1),
                self.on_message,
            )

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
                    # Granted or refused at once by the chair's copy of the rules.
                    call("commands", "press", self, press, now)
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
        client = self.client
        if client is not None:  # the network task sends it at its next look
            # While the broker is away an event goes to flash, where it survives a power cut.
            self.outbox.push(event, None if client.connected else self.chair.boot)

    def set_hub(self, online):
        """The hub (or the broker) came or went: the local timer takes over or hands back."""
        level = self.chair.hub(online, time.ticks_ms())
        if level is not None:
            self.actuators.alert(level)

    def on_message(self, topic, body, retained):
        """Every message the client receives: the hub's status, or a command."""
        if topic == self.cfg["prefix"] + "/_hub/status":
            self.set_hub(bytes(body) == b"online")
        elif topic == self.base + "cmd":
            call("commands", "run", self, body, retained)  # checked, then carried out

    # ----- network --------------------------------------------------------

    async def _network(self):
        """Bring the link up, run it while it is up, and again after a back-off when it is not.

        The code to bring it up is loaded for each attempt and dropped after.
        While the link is up this task is the connection's only one: every
        few milliseconds it lets the client handle what came (acks, commands,
        the hub's status) and keep the link alive, then sends the
        telemetry and the outbox in order, one acknowledged message at a
        time. When the link drops, what waits in RAM (the message in flight
        too) goes to the outbox's flash part; without one, a message whose
        PUBACK did not come stays `inflight`: the client resends it after the
        reconnect, so it is waited for, not published a second time.
        """
        client = self.client
        if client is None:  # the serial link: no network to run
            return
        outbox = self.outbox
        backoff = 1000
        while True:
            # `link` is dropped at once; the attempt keeps its code alive until it ends.
            if await call("link", "up", self):
                self.connects += 1
                up_at = time.ticks_ms()
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
                                self.inflight = (
                                    item,
                                    await client.publish(
                                        self.base + item[0],
                                        # An event from flash carries the boot it was made in.
                                        payload.encode(
                                            item[6] if len(item) > 6 else self.chair.boot, item
                                        ),
                                        item[0] == "occupancy",
                                        1,
                                    ),
                                )
                            except Exception as exc:  # noqa: BLE001 - a message that cannot go must not block the rest
                                print("publish: dropped %s: %r" % (item[0], exc))
                                outbox.pop(item)
                                continue
                    await asyncio.sleep_ms(_LINK_TICK_MS)
                print("mqtt: link lost:", client.why_down)
                # The back-off starts again only after a link that held: one that dies right
                # after CONNACK (a broker refusing us at once) keeps it growing.
                if time.ticks_diff(time.ticks_ms(), up_at) >= _STABLE_MS:
                    backoff = 1000
                # What was waiting (the message in flight too) goes to flash, to be sent
                # from there once the link is back, so a power cut meanwhile loses nothing.
                if outbox.path is not None:
                    self.inflight = None
                    client.pending.clear()
                    outbox.spill(self.chair.boot)
            self.set_hub(False)
            await asyncio.sleep_ms(backoff)
            backoff = min(backoff * 2, _BACKOFF_MAX_MS)

    def _health(self, now, watchdog):
        """Once a second: the watchdog, the kept state, the WiFi, the reboot without a broker.

        The heartbeat's work (telemetry, the drifted baseline, NTP, the good
        boot) is in `report`, loaded for it at most once a minute.
        """
        if self.samples != self.fed:  # feed only while sampling is alive
            self.fed = self.samples
            if watchdog is not None:
                watchdog.feed()
        fallback = self.chair.fallback
        self.board.keep(fallback.snapshot(now))  # survives a reset (not a power cut)
        client = self.client
        if client is not None:
            wlan = self.board.wlan
            if client.connected and wlan is not None and not wlan.isconnected():
                # The radio lost its access point: close the link now, not a keepalive
                # later, so the network task goes to its rejoin (and the outbox to flash).
                client.close("wifi lost")
            if client.connected:
                self.online_at = now
            elif time.ticks_diff(now, self.online_at) >= self.offline_reboot_ms and (
                fallback.idle(now)
            ):
                # Only with no bout to time, so the local timer never starves.
                print("health: no broker for too long; rebooting")
                self.board.reset()
        if time.ticks_diff(now, self.beat_at) >= min(self.cfg["telemetry_s"], 60) * 1000:
            self.beat_at = now
            call("report", "beat", self, now)

    # ----- start ----------------------------------------------------------

    def tasks(self, watchdog=None):
        """Start every task; returns them (the tests cancel them). Drops the start-up code.

        `watchdog`: an object to feed, True for the board's own (30 s), or None.
        """
        return call("start", "tasks", self, watchdog)

    async def main(self):
        """Run forever (on the board)."""
        self.tasks(True)
        while True:
            await asyncio.sleep_ms(60_000)
