"""Shared pieces for the reliability tests: throwaway certificates, a clock, a recording link.

The certificates are made fresh for each test with the ``cryptography``
package; nothing here is trusted outside the test's own folder.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hub import config
from hub.config import HubConfig
from hub.core.facts import DeskSample, Fact
from hub.core.service import HubService
from hub.mqtt.inbox import Inbound

# ---- certificates ---------------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    """A certificate and its key as PEM files."""

    cert: Path
    key: Path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _write(
    folder: Path, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> Issued:
    cert_path, key_path = folder / f"{stem}.crt", folder / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return Issued(cert_path, key_path)


class ThrowawayCA:
    """A certificate authority that lives for one test."""

    def __init__(self, folder: Path, name: str = "sitless test CA") -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )
        stem = "ca-" + uuid.uuid4().hex[:6]
        self.files = _write(folder, stem, self.cert, self.key)

    def issue(self, stem: str, *, server: bool) -> Issued:
        """A leaf certificate for 127.0.0.1 (server) or a client."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name("127.0.0.1" if server else stem))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
        return _write(self.folder, stem, builder.sign(self.key, hashes.SHA256()), key)


# ---- the hub in-process ---------------------------------------------------------------

FAST_SITTING = {
    "limit": 60,
    "min_break": 20,
    "escalate_after": 30,
    "snooze": 60,
    "max_snoozes": 3,
    "pause": 120,
    "telemetry_period": 60,
}


def hub_cfg(
    state_dir: Path, *, url: str = "mqtt://127.0.0.1:9", prefix: str = "rel", **sections: Any
) -> HubConfig:
    """A config with minute-scale rules (for an injected clock) and a client id of its own."""
    mqtt = {
        "url": url,
        "prefix": prefix,
        "client_id": f"hub-{uuid.uuid4().hex[:10]}",
        "keepalive": 5,
        **sections.pop("mqtt", {}),
    }
    data: dict[str, Any] = {
        "mqtt": mqtt,
        "sitting": {**FAST_SITTING, **sections.pop("sitting", {})},
        "history": {"sample_period": 60, **sections.pop("history", {})},
        "state_dir": str(state_dir),
        **sections,
    }
    return config.from_mapping(data)


class FakeClock:
    """Time that moves only when a test says so."""

    def __init__(self, start: float = 1_774_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


class RecordingLink:
    """Stands in for the broker connection: keeps every publish for the test to read."""

    def __init__(self) -> None:
        self.connected = threading.Event()
        self.connected.set()
        self.sent: list[tuple[str, bytes, bool]] = []

    def start(self) -> None:
        """Nothing to connect."""

    def stop(self, timeout: float = 5.0) -> None:
        """Nothing to close."""

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        self.sent.append((topic, payload, retain))

    def commands(self, desk: str | None = None) -> list[dict[str, Any]]:
        """Every command sent, optionally for one desk, decoded."""
        return [
            json.loads(p)
            for t, p, _ in self.sent
            if t.endswith("/cmd") and (desk is None or t.split("/")[-2] == desk)
        ]

    def alerts(self, desk: str | None = None) -> list[dict[str, Any]]:
        return [c for c in self.commands(desk) if c["action"] == "alert"]

    def views(self, desk: str) -> list[dict[str, Any]]:
        return [json.loads(p) for t, p, _ in self.sent if t.endswith(f"/{desk}/sitting")]


@dataclass
class ListHistory:
    """Keeps facts in memory (the real store has its own tests in tests/history)."""

    facts: list[Fact] = field(default_factory=list)
    samples: int = 0

    def record(self, fact: Fact) -> None:
        self.facts.append(fact)

    def sample(self, _ts: float, samples: list[DeskSample]) -> None:
        self.samples += len(samples)

    def start(self) -> None:
        """Nothing to open."""

    def close(self) -> None:
        """Nothing to close."""


def occupancy(seated: bool, seq: int, ts: float | None, boot: str = "b1") -> bytes:
    return json.dumps(
        {
            "seated": seated,
            "seq": seq,
            "boot": boot,
            "ts": ts,
            "uptime_ms": 1000 + seq,
            "value": 1800.0 if seated else 200.0,
        }
    ).encode()


def deliver(service: HubService, clock: FakeClock, topic: str, payload: bytes) -> None:
    """What the owner thread does with one message, and the deadlines due after it."""
    service.step([Inbound(topic, payload, retain=False, received=clock())])


def tick(service: HubService, clock: FakeClock, seconds: float) -> None:
    """Let the injected clock move on and fire what fell due, as the owner loop does."""
    clock.advance(seconds)
    service.step([])
