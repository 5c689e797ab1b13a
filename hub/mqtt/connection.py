"""Opening a link to the broker: TCP, TLS, the CONNECT packet, and saying why it failed.

A failed connection is retried quietly by the transport; ``diagnose`` repeats
it by hand to name the reason (refused, unreachable, a certificate the CA
file does not trust) for the once-a-minute log line.
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

from hub.config import MqttConfig
from hub.contract import protocol
from hub.errors import ConfigError
from hub.mqtt import packets as mp

HUB_OFFLINE = b"offline"
DIAGNOSE_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 10.0  # TCP connect and TLS handshake, each


def connect_packet(cfg: MqttConfig, *, v5: bool, receive_maximum: int) -> bytes:
    """CONNECT with our persistent session, credentials and last will."""
    # One will per connection: it goes to the first prefix; stop() announces on all.
    will = mp.Will(protocol.hub_status_topic(cfg.prefixes[0]), HUB_OFFLINE)
    password = cfg.password.get_secret_value() if cfg.password is not None else None
    if v5:
        # Unacknowledged messages wait in the inbox until their batch is committed;
        # allow many (mosquitto's own default for 3.1.1 is 20), but fewer than it holds.
        return mp.connect(
            cfg.client_id,
            keepalive=int(cfg.keepalive),
            v5=True,
            session_expiry=int(cfg.session_expiry),
            receive_maximum=receive_maximum,
            username=cfg.username,
            password=password,
            will=will,
        )
    return mp.connect(
        cfg.client_id,
        keepalive=int(cfg.keepalive),
        v5=False,
        username=cfg.username,
        password=password,
        will=will,
    )


def open_link(cfg: MqttConfig, tls: ssl.SSLContext | None, connect: bytes) -> socket.socket:
    """A non-blocking socket to the broker with ``connect`` sent; raises ``OSError``."""
    sock = socket.create_connection((cfg.host, cfg.port), timeout=CONNECT_TIMEOUT_S)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls is not None:
            sock = tls.wrap_socket(sock, server_hostname=cfg.host)
        sock.sendall(connect)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def diagnose(cfg: MqttConfig, tls: ssl.SSLContext | None) -> str:
    """Repeat the connection by hand to learn why it failed, naming TLS certificate errors."""
    try:
        sock = socket.create_connection((cfg.host, cfg.port), timeout=DIAGNOSE_TIMEOUT_S)
    except OSError as exc:
        return exc.strerror or str(exc)
    with sock:
        if tls is None:
            return "the broker closed the connection"
        try:
            with tls.wrap_socket(sock, server_hostname=cfg.host):
                return "the broker closed the TLS connection"
        except ssl.SSLCertVerificationError as exc:
            return f"TLS: the broker's certificate is not trusted ({exc.verify_message})"
        except ssl.SSLError as exc:
            return f"TLS handshake failed ({exc.reason or exc})"
        except OSError as exc:
            return f"TLS handshake failed ({exc.strerror or exc})"


def tls_context(cfg: MqttConfig) -> ssl.SSLContext:
    """Verify the broker against ``ca_file`` (or the system's CAs); offer a client cert if set."""
    files = {"ca_file": cfg.ca_file, "cert_file": cfg.cert_file, "key_file": cfg.key_file}
    for key, name in files.items():
        if name is not None and not Path(name).is_file():
            raise ConfigError([f"mqtt.{key}: cannot read {name!r} (no such file)"])
    try:
        context = ssl.create_default_context(cafile=cfg.ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError([f"mqtt.ca_file: not a usable CA certificate ({exc})"]) from exc
    if cfg.cert_file is not None:
        try:
            context.load_cert_chain(cfg.cert_file, cfg.key_file)
        except (OSError, ssl.SSLError) as exc:
            msg = f"mqtt.cert_file/key_file: not a usable certificate and key ({exc})"
            raise ConfigError([msg]) from exc
    return context
