"""Home Assistant MQTT discovery, published by the hub for every desk it knows.

The hub publishes, not the chair: it knows every desk (configured or seen),
it owns the sitting view most entities show, and a board keeps its RAM for
the signal path. What a desk's configs hold (entities, device, unique ids)
is ``ha_entities``; this module decides which desks are announced, and when.

Everything is re-sent when Home Assistant announces ``online`` on
``homeassistant/status`` (it forgets non-retained state when it restarts, and a
broker may have lost retained messages), and a desk's configs when its info
changes. A desk is announced a moment after it is first heard of, once its
retained info has had time to arrive: Home Assistant treats a changed config as
a new entity that has not seen the retained availability yet, so announcing
twice at start would leave the chair's entities unavailable. A desk with ``_``
in its id moved to a new node id (``ha_entities``); its configs under the old
one are emptied once.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from typing import Any

import paho.mqtt.client as paho

from hub.config import HubConfig
from hub.contract import protocol
from hub.core.drift import limit_for
from hub.errors import ProtocolError, SitlessError
from hub.integrations.ha_entities import (
    DISCOVERY_PREFIX,
    LEGACY_KEYS,
    ChairInfo,
    configs,
    legacy_node_id,
    node_id,
)
from hub.mqtt.paho import make_client

__all__ = [
    "DISCOVERY_PREFIX",
    "HA_STATUS_TOPIC",
    "ChairInfo",
    "Discovery",
    "announced",
    "configs",
    "legacy_node_id",
    "node_id",
]

logger = logging.getLogger(__name__)

HA_STATUS_TOPIC = f"{DISCOVERY_PREFIX}/status"
SETTLE_S = 1.0  # wait for retained status and info before announcing


def announced(cfg: HubConfig, desk: str) -> bool:
    """Whether discovery may announce this desk.

    ``homeassistant.desks`` lists the desks to announce. Unset, every desk is
    announced under ``privacy = "desk"`` and none under ``"aggregate"``: a Home
    Assistant that shows every chair is a view of each person's sitting, so in
    that mode only a person's own setup, configured with their desk, gets one.
    """
    chosen = cfg.homeassistant.desks
    if chosen is not None:
        return desk in chosen
    return cfg.history.privacy != "aggregate"


class Discovery:
    """Keeps Home Assistant's discovery configs current for every desk the hub knows.

    It runs its own small MQTT connection so it stays independent of the hub's
    session: it learns desks from ``P/+/status`` and the configuration, chairs'
    firmware and MAC from ``P/+/info``, and answers Home Assistant's ``online``
    birth message by publishing again. A broker that takes client ids from
    logins needs ``homeassistant.username``, a login apart from the hub's.
    """

    def __init__(
        self,
        cfg: HubConfig,
        host: str | None = None,
        port: int | None = None,
        *,
        discovery_prefix: str | None = None,
    ) -> None:
        self.cfg = cfg
        self.host = host or cfg.mqtt.host
        self.port = port or cfg.mqtt.port
        self.discovery_prefix = discovery_prefix or cfg.homeassistant.discovery_prefix
        self.status_topic = f"{self.discovery_prefix}/status"
        self.published = 0
        self._known: dict[str, str] = {}  # desk -> prefix
        self._info: dict[str, ChairInfo] = {}
        self._cleared: set[str] = set()
        self._withheld: set[str] = set()
        self._due: set[str] = set()
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._connected = threading.Event()
        mqtt = cfg.mqtt
        if cfg.homeassistant.username is not None:
            mqtt = mqtt.model_copy(update={"username": cfg.homeassistant.username})
        self._client = make_client(mqtt, f"{cfg.mqtt.client_id}-discovery"[:64])
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        for desk in cfg.desks:
            self._known[desk] = cfg.mqtt.prefixes[0]

    def start(self, timeout: float = 10.0) -> Discovery:
        """Connect and publish for every configured desk."""
        if self.cfg.history.privacy == "aggregate" and self.cfg.homeassistant.desks is None:
            logger.warning(
                "privacy is aggregate: Home Assistant discovery announces no desk "
                "(list a person's own desk in homeassistant.desks for their own setup)"
            )
        try:
            self._client.connect(self.host, self.port, keepalive=int(self.cfg.mqtt.keepalive))
        except OSError as exc:
            msg = f"discovery cannot reach the MQTT broker at {self.host}:{self.port}"
            raise SitlessError(msg) from exc
        self._client.loop_start()
        if not self._connected.wait(timeout):
            self._client.loop_stop()
            msg = f"the MQTT broker at {self.host}:{self.port} did not accept discovery"
            raise SitlessError(msg)
        return self

    def stop(self) -> None:
        """Disconnect; the retained configs stay so Home Assistant keeps the entities."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
        self._client.disconnect()
        self._client.loop_stop()

    def desks(self) -> list[str]:
        """Every desk announced so far."""
        with self._lock:
            return sorted(self._known)

    def announce(self, desks: Iterable[str] | None = None) -> None:
        """Publish the configs of some desks (all known desks by default)."""
        with self._lock:
            chosen = (
                dict(self._known)
                if desks is None
                else {d: self._known.get(d, self.cfg.mqtt.prefixes[0]) for d in desks}
            )
            info = dict(self._info)
            known = set(self._known)
        for desk, prefix in sorted(chosen.items()):
            if not announced(self.cfg, desk):
                self._withhold(desk, prefix, known)
                continue
            where = self.cfg.desk(desk)
            area = where.zone if where.zone != "default" else None
            bodies = configs(
                prefix,
                desk,
                area=area,
                info=info.get(desk),
                status_url=self.cfg.homeassistant.status_url,
                discovery_prefix=self.discovery_prefix,
                max_drift=limit_for(self.cfg, desk),
            )
            for topic, body in bodies.items():
                self._publish(topic, json.dumps(body, separators=(",", ":")))
            self._clear_legacy(desk, known)
            logger.debug("announced to Home Assistant", extra={"desk": desk})

    def _soon(self, desks: Iterable[str]) -> None:
        """Announce these desks after ``SETTLE_S``, together with any others due."""
        with self._lock:
            self._due.update(desks)
            if self._timer is None:
                self._timer = threading.Timer(SETTLE_S, self._announce_due)
                self._timer.daemon = True
                self._timer.start()

    def _announce_due(self) -> None:
        with self._lock:
            due, self._due, self._timer = self._due, set(), None
        self.announce(due)

    def _withhold(self, desk: str, prefix: str, known: set[str]) -> None:
        """Empty, once, the configs an earlier run may have left for a desk not announced now."""
        if desk in self._withheld:
            return
        self._withheld.add(desk)
        for topic in configs(prefix, desk, discovery_prefix=self.discovery_prefix):
            self._publish(topic, "")
        self._clear_legacy(desk, known)
        logger.debug("not announced to Home Assistant", extra={"desk": desk})

    def _clear_legacy(self, desk: str, known: set[str]) -> None:
        """Empty the configs an earlier release kept under this desk's old, shared node id."""
        old = legacy_node_id(desk)
        if old == node_id(desk) or desk in self._cleared or desk.replace("_", "-") in known:
            return  # the id did not change, or its hyphen twin now owns the old node
        self._cleared.add(desk)
        for component, key in LEGACY_KEYS:
            self._publish(f"{self.discovery_prefix}/{component}/{old}/{key}/config", "")

    def _publish(self, topic: str, payload: str) -> None:
        self._client.publish(topic, payload, qos=1, retain=True)
        self.published += 1

    def _on_connect(
        self, client: paho.Client, _u: Any, _f: Any, reason: Any, _p: Any = None
    ) -> None:
        if reason.is_failure:
            logger.warning("broker refused the discovery connection: %s", reason)
            return
        subs = [(self.status_topic, 1)]
        for p in self.cfg.mqtt.prefixes:
            subs += [(f"{p}/+/status", 1), (f"{p}/+/info", 1)]
        client.subscribe(subs)
        self._soon(self.desks())
        self._connected.set()

    def _on_message(self, _c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        if msg.topic == self.status_topic:
            if bytes(msg.payload).strip() == b"online":
                self.announce()
            return
        try:
            where, message = protocol.parse(msg.topic, bytes(msg.payload), self.cfg.mqtt.prefixes)
        except ProtocolError:
            return
        with self._lock:
            changed = where.desk not in self._known
            self._known.setdefault(where.desk, where.prefix)
            if isinstance(message, protocol.Info):
                info = ChairInfo(message.fw, message.board, message.sensor, message.mac)
                changed = changed or self._info.get(where.desk) != info
                self._info[where.desk] = info
        if changed:
            self._soon([where.desk])
