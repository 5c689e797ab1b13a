"""The fleet as the broker knows it, and commands (config, tare) to one desk or all of them.

Boards keep ``info``, ``status`` and the hub's ``sitting`` retained, so a short
subscription shows every desk ever seen without asking the hub; a few seconds
of live ``telemetry`` adds who is talking right now.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho

from hub import log as hublog
from hub.board.provision import broker_keys, key_problem
from hub.config import MqttConfig
from hub.contract.protocol import DESK_ID, HUB_LEVEL, decode_json, device_topic, split_topic
from hub.errors import ConfigError, ProtocolError
from hub.mqtt import paho as broker

logger = logging.getLogger(__name__)

WATCHED = ("info", "status", "sitting", "telemetry")


@dataclass
class DeskRow:
    """What the broker says about one desk."""

    prefix: str
    desk: str
    fw: str | None = None
    board: str | None = None
    sensor: str | None = None
    online: bool | None = None
    state: str | None = None
    last_seen: float | None = None

    def seen(self, when: float | None) -> None:
        """Keep the latest time anything said the desk was alive."""
        if isinstance(when, int | float) and (self.last_seen is None or when > self.last_seen):
            self.last_seen = float(when)


class FleetView:
    """Collects the retained picture of every desk, plus live telemetry, for ``wait`` seconds."""

    def __init__(self, mqtt: MqttConfig) -> None:
        self.mqtt = mqtt
        self.rows: dict[tuple[str, str], DeskRow] = {}
        self._lock = threading.Lock()

    def collect(self, wait: float) -> list[DeskRow]:
        """Subscribe, listen, and return the desks sorted by prefix and id."""
        client = broker.make_client(self.mqtt, broker.unique_id("fleet"))
        topics = [(f"{prefix}/+/{kind}", 1) for prefix in self.mqtt.prefixes for kind in WATCHED]

        def on_connect(
            c: paho.Client, _u: object, _f: object, rc: object, _p: object = None
        ) -> None:
            if not getattr(rc, "is_failure", False):
                c.subscribe(topics)

        client.on_connect = on_connect
        client.on_message = lambda _c, _u, msg: self.take(
            msg.topic, bytes(msg.payload), retained=bool(msg.retain)
        )
        broker.connect(client, self.mqtt)
        try:
            time.sleep(wait)
        finally:
            client.disconnect()
            client.loop_stop()
        with self._lock:
            return [self.rows[key] for key in sorted(self.rows)]

    def take(self, topic: str, payload: bytes, *, retained: bool) -> None:
        """Fold one message into its desk's row; anything off-contract is skipped."""
        try:
            where = split_topic(topic, self.mqtt.prefixes)
            if where.desk == HUB_LEVEL or not payload:
                return
            body: dict[str, Any] = {} if where.kind == "status" else decode_json(payload, topic)
        except ProtocolError as exc:
            logger.debug("skipped %s: %s", topic, exc.reason)
            return
        with self._lock:
            row = self.rows.setdefault(
                (where.prefix, where.desk), DeskRow(where.prefix, where.desk)
            )
            if where.kind == "status":
                row.online = payload.strip() == b"online"
            elif where.kind == "info":
                row.fw, row.board, row.sensor = (
                    _text(body, "fw"),
                    _text(body, "board"),
                    _text(body, "sensor"),
                )
            elif where.kind == "sitting":
                row.state = _text(body, "state")
                row.seen(body.get("ts"))
            elif where.kind == "telemetry":
                row.fw = _text(body, "fw") or row.fw
                row.seen(body.get("ts"))
            if not retained:
                row.seen(time.time())


def _text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    return value if isinstance(value, str) else None


def check_settings(settings: dict[str, Any]) -> None:
    """Each key and value as the board will check them; ConfigError names every bad key."""
    problems = [
        f"{key}: {problem}"
        for key, value in settings.items()
        if (problem := key_problem(key, value))
    ]
    if "desk" in settings:
        problems.append("desk: a desk's id is changed with sitless provision, not over MQTT")
    if not settings:
        problems.append("config: give at least one key=value, --broker or --ca")
    if problems:
        raise ConfigError(problems)


BROKER_KEYS = ("mqtt_host", "mqtt_port", "mqtt_tls")


def with_broker(
    settings: dict[str, Any], broker: str | None, ca: str | None = None
) -> dict[str, Any]:
    """``settings`` plus the keys ``--broker`` and ``--ca`` stand for; ConfigError on a clash.

    ``mqtt://host[:port]`` or ``mqtts://host[:port]`` sets ``mqtt_host``,
    ``mqtt_port`` and ``mqtt_tls`` (mqtts: TLS, port 8883 unless given); ``ca``
    is ``mqtt_ca``, the CA certificate file on the board, which only TLS reads.
    """
    out = dict(settings)
    problems: list[str] = []
    if broker is not None:
        problems += [
            f"{key}: set by --broker; leave out {key}=" for key in BROKER_KEYS if key in out
        ]
        out |= broker_keys(broker)
    if ca is not None:
        if "mqtt_ca" in settings:
            problems.append("mqtt_ca: set by --ca; leave out mqtt_ca=")
        if out.get("mqtt_tls") is False:
            problems.append("--ca: the CA file is only read over TLS; use an mqtts:// broker")
        out["mqtt_ca"] = ca
    if problems:
        raise ConfigError(problems)
    return out


@dataclass(frozen=True, slots=True)
class PushResult:
    """One desk's answer to a config push: ok, refused with a reason, or silent (ok None)."""

    prefix: str
    desk: str
    ok: bool | None
    error: str | None = None


def push_config(
    mqtt: MqttConfig, targets: list[tuple[str, str]], settings: dict[str, Any], wait: float
) -> list[PushResult]:
    """Send ``config`` to each (prefix, desk), QoS 1 and never retained, and collect the acks."""
    check_settings(settings)
    return send_command(mqtt, targets, {"action": "config", "set": settings}, wait)


def send_tare(mqtt: MqttConfig, targets: list[tuple[str, str]], wait: float) -> list[PushResult]:
    """Send ``tare`` to each (prefix, desk) and collect the acks (a seated chair refuses)."""
    return send_command(mqtt, targets, {"action": "tare"}, wait)


def send_command(
    mqtt: MqttConfig, targets: list[tuple[str, str]], fields: dict[str, Any], wait: float
) -> list[PushResult]:
    """Send one command (``fields`` with its action) to each desk and wait for every ack."""
    for _prefix, desk in targets:
        if not DESK_ID.match(desk):
            raise ConfigError([f"--desk: {desk!r} must match {DESK_ID.pattern}"])
    cmd_id = f"fleet-{uuid.uuid4().hex[:10]}"
    answers: dict[tuple[str, str], PushResult] = {}
    done = threading.Event()
    subscribed = threading.Event()
    wanted = set(targets)

    def on_message(_c: paho.Client, _u: object, msg: paho.MQTTMessage) -> None:
        try:
            where = split_topic(msg.topic, [p for p, _d in targets])
            body = decode_json(bytes(msg.payload), msg.topic)
        except ProtocolError:
            return
        key = (where.prefix, where.desk)
        if key in wanted and body.get("id") == cmd_id:
            error = body.get("error")
            answers[key] = PushResult(
                where.prefix,
                where.desk,
                body.get("ok") is True,
                error if isinstance(error, str) else None,
            )
            if len(answers) == len(wanted):
                done.set()

    client = broker.make_client(mqtt, broker.unique_id("fleet"))
    client.on_message = on_message
    client.on_subscribe = lambda *_a: subscribed.set()
    broker.connect(client, mqtt)
    try:
        ack_topics = sorted({(device_topic(p, "+", "ack"), 1) for p, _d in targets})
        client.subscribe(ack_topics)
        subscribed.wait(5)
        body = json.dumps({"id": cmd_id, **fields}, separators=(",", ":"))
        for prefix, desk in targets:
            client.publish(
                device_topic(prefix, desk, "cmd"), body, qos=1, retain=False
            ).wait_for_publish(10)
            logger.info("%s %s sent", fields["action"], cmd_id, extra=hublog.desk(desk))
        done.wait(wait)
    finally:
        client.disconnect()
        client.loop_stop()
    return [answers.get(t, PushResult(t[0], t[1], None)) for t in targets]
