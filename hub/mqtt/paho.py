"""A short-lived paho client for the board tools (bridge, fleet), built from the hub's mqtt section.

The tools connect like the hub does (same URL, credentials and TLS files) so a
person configures the broker once, in one file.
"""

from __future__ import annotations

import logging
import ssl
import time
import uuid

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from hub.config import MqttConfig
from hub.errors import DeviceError

logger = logging.getLogger(__name__)


def make_client(cfg: MqttConfig, client_id: str) -> paho.Client:
    """A paho client with credentials and TLS applied, not yet connected."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    if cfg.username is not None:
        password = cfg.password.get_secret_value() if cfg.password else None
        client.username_pw_set(cfg.username, password)
    if cfg.tls:
        client.tls_set(
            ca_certs=cfg.ca_file,
            certfile=cfg.cert_file,
            keyfile=cfg.key_file,
            cert_reqs=ssl.CERT_REQUIRED,
        )
    return client


def unique_id(role: str) -> str:
    """A client id that cannot clash with the hub's fixed one."""
    return f"sitless-{role}-{uuid.uuid4().hex[:8]}"


def connect(client: paho.Client, cfg: MqttConfig, timeout: float = 10.0) -> None:
    """Connect and start the network thread; an unreachable or refusing broker is a DeviceError."""
    try:
        client.connect(cfg.host, cfg.port, keepalive=int(cfg.keepalive))
    except OSError as exc:
        raise DeviceError(f"cannot reach the MQTT broker at {cfg.host}:{cfg.port}: {exc}") from exc
    client.loop_start()
    deadline = time.monotonic() + timeout
    while not client.is_connected():
        if time.monotonic() >= deadline:
            client.loop_stop()
            raise DeviceError(
                f"the MQTT broker at {cfg.host}:{cfg.port} did not accept us "
                f"within {timeout:g} s (check the URL and credentials)"
            )
        time.sleep(0.02)
    logger.debug("connected to %s:%d", cfg.host, cfg.port)
