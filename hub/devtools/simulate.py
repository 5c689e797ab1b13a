"""Simulated chairs: synthetic people on synthetic seats, run through the firmware's own logic.

Each simulated chair is the firmware's ``Chair`` (signal path, debounce,
calibration, payload encoding, local fallback timer) and its command parser,
imported from the firmware sources, fed with a pressure trace from a ``Person``
who arrives, fidgets, leans, stands up briefly, takes real breaks, goes to
lunch, and reacts to alerts by standing up or pressing the button. So the
demo and the benchmarks exercise the code that runs on the board, not a
separate fake.

All chairs share one MQTT connection and one stepping thread, which keeps a
few thousand chairs cheap enough to serve as the benchmark load generator.
Because of the shared connection there is no per-chair last will; ``stop()``
publishes ``offline`` for every chair instead.
"""

from __future__ import annotations

import importlib
import logging
import queue
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any, Self

import orjson
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from hub.contract import protocol
from hub.devtools.people import Pace, Person
from hub.errors import SitlessError

logger = logging.getLogger(__name__)

SAMPLE_MS = 200  # the board's default sample period
TELEMETRY_S = 10  # demo heartbeat; a real board sends one a minute
EMPTY_UV, OCCUPIED_UV = 150_000, 1_500_000  # the firmware's default ADC calibration points


# ---- the firmware, imported from its sources -----------------------------------------


@dataclass(frozen=True)
class Firmware:
    """The firmware modules the simulation drives."""

    chair: ModuleType
    config: ModuleType
    payload: ModuleType
    commands: ModuleType
    outbox: ModuleType
    report: ModuleType
    where: Path


def _firmware_roots() -> list[Path]:
    """Folders that may hold the firmware's ``sitless`` package: shipped, then the source tree."""
    roots = []
    shipped = resources.files("hub").joinpath("firmware_files")
    if isinstance(shipped, Path):
        roots.append(shipped)
    roots.append(Path(__file__).resolve().parents[2] / "firmware")
    return roots


def load_firmware() -> Firmware:
    """Import the firmware's pure modules under CPython (they are written to run on both)."""
    for root in _firmware_roots():
        if (root / "sitless" / "chair.py").is_file():
            if str(root) not in sys.path:
                sys.path.insert(0, str(root))
            names = ("chair", "config", "payload", "commands", "outbox", "report")
            mods = {name: importlib.import_module(f"sitless.{name}") for name in names}
            return Firmware(where=root, **mods)
    msg = "the firmware sources (sitless/chair.py) are not installed with the hub"
    raise SitlessError(msg)


def info_payload(fw: Firmware, mac: str, boot: str, desk: str) -> bytes:
    """A simulated board's ``info``, with the keys the firmware's own announcement carries.

    The firmware builds it in its link module, which needs the radio, so the
    simulator writes the same fields itself.
    """
    return orjson.dumps(
        {
            "fw": fw.payload.FW_VERSION,
            "board": "simulated",
            "sensor": "adc",
            "mac": mac,
            "boot": boot,
            "heap_free": 120_000,
            "config_version": 1,
            "desk": desk,
        }
    )


# ---- a person on a chair -------------------------------------------------------------


@dataclass
class SimChair:
    """One desk: the firmware's chair logic, the person on it, and its schedule."""

    desk: str
    prefix: str
    chair: Any
    person: Person
    rng: random.Random
    next_sample: int
    next_telemetry: int
    topics: dict[str, str] = field(default_factory=dict)

    def raw(self, load: float) -> int:
        """An ADC reading for that load, with sensor noise."""
        noise = self.rng.gauss(0.0, 0.015) * (OCCUPIED_UV - EMPTY_UV)
        return int(EMPTY_UV + load * (OCCUPIED_UV - EMPTY_UV) + noise)


def desk_names(count: int, floors: int = 2) -> list[tuple[str, str, str]]:
    """``(desk, floor, zone)`` for a demo office: desks spread over floors, two zones each."""
    per_floor = -(-count // max(1, floors))
    out = []
    for i in range(count):
        floor = i // per_floor + 1
        index = i % per_floor
        zone = "north" if index < -(-per_floor // 2) else "south"
        out.append((f"desk-{floor}{index + 1:02d}", str(floor), zone))
    return out


class Simulator:
    """Many simulated chairs publishing to one broker until stop()."""

    def __init__(  # noqa: PLR0913 - keyword-only knobs with defaults
        self,
        host: str,
        port: int,
        desks: list[str],
        *,
        prefix: str = "sitless",
        rate: float = 1.0,
        pace: Pace | None = None,
        seed: int | None = None,
        limit_s: int = 60,
        min_break_s: int = 15,
        telemetry_s: float = TELEMETRY_S,
    ) -> None:
        if rate <= 0:
            raise SitlessError("rate must be a positive number (1 = real time)")
        for desk in desks:
            if not protocol.DESK_ID.match(desk):
                raise SitlessError(f"desk id {desk!r} must match {protocol.DESK_ID.pattern}")
        self.firmware = load_firmware()
        self.host, self.port, self.prefix, self.rate = host, port, prefix, rate
        self.pace = pace or Pace()
        self.telemetry_ms = int(telemetry_s * 1000)
        self.published = 0
        self.presses = 0
        self.alerts = 0
        self._rng = random.Random(seed)  # noqa: S311 - simulation, not security
        self._boot = f"sim{self._rng.getrandbits(32):08x}"
        self._commands: queue.SimpleQueue[tuple[str, bytes, bool]] = queue.SimpleQueue()
        self._hub_online: bool | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._connected = threading.Event()
        self._started_mono = 0.0
        self.chairs = {desk: self._make_chair(desk, limit_s, min_break_s) for desk in desks}
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"sitless-sim-{self._boot}",
            protocol=paho.MQTTv311,
        )
        self._client.max_inflight_messages_set(1000)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message

    def _make_chair(self, desk: str, limit_s: int, min_break_s: int) -> SimChair:
        fw = self.firmware
        cfg = fw.config.check(
            {
                "desk": desk,
                "transport": "serial",
                "prefix": self.prefix,
                "limit_s": limit_s,
                "min_break_s": min_break_s,
                "telemetry_s": max(1, self.telemetry_ms // 1000),
            }
        )
        rng = random.Random(self._rng.getrandbits(64))  # noqa: S311 - simulation
        chair = fw.chair.Chair(cfg, boot=f"{self._boot}{desk[-6:]}"[:32].replace(".", "-"))
        topics = {
            kind: protocol.device_topic(self.prefix, desk, kind)
            for kind in ("status", "occupancy", "telemetry", "button", "info", "ack")
        }
        return SimChair(
            desk,
            self.prefix,
            chair,
            Person(rng, self.pace, 0),
            rng,
            next_sample=rng.randrange(SAMPLE_MS),
            next_telemetry=rng.randrange(self.telemetry_ms),
            topics=topics,
        )

    # ---- lifecycle ---------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> Self:
        """Connect, announce every chair, and start stepping them."""
        try:
            self._client.connect(self.host, self.port, keepalive=30)
        except OSError as exc:
            msg = f"cannot reach the MQTT broker at {self.host}:{self.port} ({exc})"
            raise SitlessError(msg) from exc
        self._client.loop_start()
        if not self._connected.wait(timeout):
            self._client.loop_stop()
            msg = f"the MQTT broker at {self.host}:{self.port} did not accept the simulator"
            raise SitlessError(msg)
        fw = self.firmware
        for desk, sim in self.chairs.items():
            mac = f"02:00:00:{sim.rng.randrange(256):02x}:{sim.rng.randrange(256):02x}:01"
            self._publish(sim.topics["status"], b"online", retain=True)
            body = info_payload(fw, mac, sim.chair.boot, desk)
            self._publish(sim.topics["info"], body, retain=True)
        self._started_mono = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="sitless-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop stepping, say every chair is offline, and disconnect."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
        infos = [
            self._client.publish(sim.topics["status"], b"offline", qos=1, retain=True)
            for sim in self.chairs.values()
        ]
        deadline = time.monotonic() + timeout
        for info in infos:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                info.wait_for_publish(left)
            except (RuntimeError, ValueError):
                break
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # ---- MQTT ----------------------------------------------------------------------

    def _on_connect(
        self, client: paho.Client, _u: Any, _f: Any, reason: Any, _p: Any = None
    ) -> None:
        if reason.is_failure:
            logger.warning("broker refused the simulator: %s", reason)
            return
        client.subscribe([(f"{self.prefix}/+/cmd", 1), (protocol.hub_status_topic(self.prefix), 1)])
        self._connected.set()

    def _on_message(self, _c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        # paho's network thread: hand over, never touch chair state here.
        self._commands.put((msg.topic, bytes(msg.payload), bool(msg.retain)))

    def _publish(self, topic: str, body: bytes, *, qos: int = 1, retain: bool = False) -> None:
        self._client.publish(topic, body, qos=qos, retain=retain)
        self.published += 1

    # ---- stepping ------------------------------------------------------------------

    def now_ms(self) -> int:
        """Simulated milliseconds since start (runs ``rate`` times faster than the wall)."""
        return int((time.monotonic() - self._started_mono) * 1000 * self.rate)

    def _run(self) -> None:
        while not self._stopping.wait(0.05):
            try:
                self.step(self.now_ms())
            except Exception:
                logger.exception("simulated chairs failed a step; continuing")

    def step(self, now_ms: int) -> None:
        """Bring every chair up to ``now_ms``: commands first, then sensor samples."""
        self._drain_commands(now_ms)
        ts_ms = int(time.time() * 1000)
        for sim in self.chairs.values():
            chair, person = sim.chair, sim.person
            while sim.next_sample <= now_ms:
                at = sim.next_sample
                sim.next_sample += SAMPLE_MS
                press = person.press(at)
                if press is not None:
                    self.presses += 1
                    event = chair.press(press == "long", at, ts_ms)
                    self._publish(sim.topics["button"], self._encode(chair, event))
                event = chair.sample(at, sim.raw(person.load(at)), ts_ms)
                if event is not None:
                    self._publish(sim.topics["occupancy"], self._encode(chair, event), retain=True)
            if sim.next_telemetry <= now_ms:
                sim.next_telemetry = now_ms + self.telemetry_ms
                cal = chair.calib
                body = self.firmware.report.telemetry(
                    ts_ms, chair.uptime_ms, chair.value, cal.baseline, -55, 120_000, 0
                )
                self._publish(sim.topics["telemetry"], body, qos=0)

    def _encode(self, chair: Any, event: Any) -> bytes:
        """The firmware's own encoding of a chair event (older firmware returned bytes)."""
        if isinstance(event, bytes):
            return event
        return bytes(self.firmware.payload.encode(chair.boot, event))

    def _drain_commands(self, now_ms: int) -> None:
        while True:
            try:
                topic, body, retained = self._commands.get_nowait()
            except queue.Empty:
                return
            if topic == protocol.hub_status_topic(self.prefix):
                self._hub_status(body.strip() == b"online", now_ms)
                continue
            desk = topic[len(self.prefix) + 1 :].split("/", 1)[0]
            found = self.chairs.get(desk)
            if found is not None:
                self._command(found, body, retained, now_ms)

    def _hub_status(self, online: bool, now_ms: int) -> None:
        if online != self._hub_online:
            self._hub_online = online
            for sim in self.chairs.values():
                sim.chair.hub(online, now_ms)

    def _command(self, sim: SimChair, body: bytes, retained: bool, now_ms: int) -> None:
        """Carry out one command as the board would, and ack it."""
        fw = self.firmware
        cmd, error = fw.commands.parse(body, retained)
        if cmd is None:
            return
        if error is not None:
            self._publish(sim.topics["ack"], fw.payload.ack(cmd, ok=False, error=error))
            return
        ok, why = True, None
        if cmd["action"] == "alert":
            self.alerts += 1
            sim.person.alerted(int(cmd["level"]), now_ms)
        elif cmd["action"] == "tare":
            ok = bool(sim.chair.tare())
            why = None if ok else "seated"
        self._publish(sim.topics["ack"], fw.payload.ack(cmd["id"], ok, why))
