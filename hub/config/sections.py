"""The sections of the hub's configuration, each a validated model of its own.

``hub.config.HubConfig`` puts them together. Every section forbids unknown
keys, so a typo is an error that names the key; secrets are ``SecretStr`` and
can be read from files (``password_file``, ``token_file``).
"""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from pathlib import Path
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from hub.contract.vocabulary import PREFIX_LEVEL, WORKDAYS, Weekday
from hub.envvalues import parse_duration
from hub.places import check_url

_PREFIX_LEVEL = PREFIX_LEVEL

Duration = Annotated[float, BeforeValidator(parse_duration)]


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, values are checked on assignment."""

    # allow_inf_nan: ``limit = inf`` (or ``1e400``, which TOML reads as inf) is refused.
    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, frozen=False, allow_inf_nan=False
    )


def _read_secret_file(path: str, key: str) -> SecretStr:
    try:
        return SecretStr(Path(path).read_text().strip())
    except OSError as exc:
        msg = f"{key}: cannot read secret file {path!r} ({exc.strerror})"
        raise ValueError(msg) from exc


class MqttConfig(Section):
    """How the hub reaches the broker."""

    url: str = Field("mqtt://127.0.0.1:1883", description="mqtt:// or mqtts:// broker URL")
    username: str | None = None
    password: SecretStr | None = None
    password_file: str | None = Field(None, description="read the password from this file")
    prefix: str | list[str] = Field("sitless", description="topic prefix, or a list of them")
    client_id: str = Field("sitless-hub", min_length=1, max_length=64)
    protocol: Literal["5", "3.1.1"] = Field(
        "5", description="MQTT version; 3.1.1 keeps the session with clean_session = false"
    )
    keepalive: Duration = Field(30.0, ge=5, le=3600)
    session_expiry: Duration = Field(86400.0, ge=0, description="session kept by the broker")
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return check_url(value, ("mqtt", "mqtts"), '"mqtt://host:1883" or "mqtts://host:8883"')

    @field_validator("ca_file", "cert_file", "key_file")
    @classmethod
    def _check_tls_file(cls, value: str | None) -> str | None:
        """Checked here too, so check-config refuses what the hub would refuse at start."""
        if value is not None and not os.access(value, os.R_OK):
            reason = "no such file" if not Path(value).exists() else "not readable"
            raise ValueError(f"cannot read {value!r} ({reason})")
        return value

    @field_validator("prefix")
    @classmethod
    def _check_prefix(cls, value: str | list[str]) -> str | list[str]:
        for one in [value] if isinstance(value, str) else value:
            check_prefix(one)
        if isinstance(value, list) and not value:
            raise ValueError("at least one prefix is needed")
        return value

    @model_validator(mode="after")
    def _secrets_and_pairs(self) -> Self:
        if self.password_file:
            secret = _read_secret_file(self.password_file, "password_file")
            object.__setattr__(self, "password", secret)
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        return self

    @property
    def prefixes(self) -> list[str]:
        """Every configured prefix as a list."""
        return [self.prefix] if isinstance(self.prefix, str) else list(self.prefix)

    @property
    def host(self) -> str:
        """Broker host name from the URL."""
        return urlsplit(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        """Broker port from the URL, defaulting by scheme."""
        parts = urlsplit(self.url)
        return parts.port or (8883 if parts.scheme == "mqtts" else 1883)

    @property
    def tls(self) -> bool:
        """Whether the URL asks for TLS."""
        return urlsplit(self.url).scheme == "mqtts"


def check_prefix(value: str) -> str:
    """A prefix is one or more topic levels of plain characters, no wildcards."""
    levels = value.split("/")
    if not value or not all(_PREFIX_LEVEL.match(level) for level in levels) or "_hub" in levels:
        msg = f"invalid topic prefix {value!r}: use levels of letters, digits, '-' or '_'"
        raise ValueError(msg)
    return value


class SittingConfig(Section):
    """The sitting rules. Defaults follow the advice to move at least every 30 minutes."""

    limit: Duration = Field(1800.0, gt=0, description="bout time before the first alert")
    min_break: Duration = Field(120.0, gt=0, description="vacancy that ends a bout")
    escalate_after: Duration = Field(300.0, gt=0, description="time between alert levels")
    snooze: Duration = Field(600.0, gt=0, description="how long a short press delays the alert")
    max_snoozes: int = Field(3, ge=0, le=100, description="snoozes allowed per bout")
    strict: bool = Field(False, description="no snoozes at all")
    pause: Duration = Field(3600.0, gt=0, description="how long a long press silences alerts")
    telemetry_period: Duration = Field(60.0, gt=0, description="device heartbeat period")


class ScheduleConfig(Section):
    """Working hours: alerts only inside them, history always."""

    timezone: str = "UTC"
    days: list[Weekday] = Field(default_factory=lambda: list(WORKDAYS))
    start: str = "00:00"
    end: str = "24:00"

    @field_validator("timezone")
    @classmethod
    def _check_tz(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    @field_validator("start", "end")
    @classmethod
    def _check_clock(cls, value: str) -> str:
        if value == "24:00":
            return value
        try:
            dt.time.fromisoformat(value)
        except ValueError as exc:
            raise ValueError('expected a clock time like "09:00"') from exc
        return value


class HistoryConfig(Section):
    """Where the history goes. With no server the local spool is the store."""

    api: Literal["none", "v1", "v2"] = "none"
    url: str | None = None
    token: SecretStr | None = None
    token_file: str | None = None
    org: str | None = None
    bucket: str | None = None
    database: str | None = None
    username: str | None = None
    password: SecretStr | None = None
    password_file: str | None = None
    personal_database: str | None = Field(None, description="per-desk data under aggregate privacy")
    personal_bucket: str | None = None
    spool: str = Field("sitless-spool.sqlite3", description="path of the local SQLite spool")
    local_retention: Duration = Field(30 * 86400.0, gt=0)
    desk_retention: Duration = Field(
        30 * 86400.0, ge=3600, description="desk-level data in InfluxDB"
    )
    zone_retention: Duration = Field(
        730 * 86400.0, ge=3600, description="zone aggregates in InfluxDB"
    )
    privacy: Literal["desk", "aggregate"] = "desk"
    min_group: int = Field(3, ge=1)
    sample_period: Duration = Field(60.0, ge=1)
    batch_size: int = Field(5000, ge=1, le=100000)
    max_spool_mb: float = Field(1024.0, gt=0, description="refuse new points beyond this size")

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return None if value is None else check_url(value, ("http", "https"), '"http://host:8086"')

    @model_validator(mode="after")
    def _server_fields(self) -> Self:
        if self.token_file:
            object.__setattr__(self, "token", _read_secret_file(self.token_file, "token_file"))
        if self.password_file:
            secret = _read_secret_file(self.password_file, "password_file")
            object.__setattr__(self, "password", secret)
        if self.api != "none" and not self.url:
            raise ValueError(f'url is required when api = "{self.api}"')
        if self.api == "v2" and not (self.org and self.bucket):
            raise ValueError('org and bucket are required when api = "v2"')
        if self.api == "v1" and not self.database:
            raise ValueError('database is required when api = "v1"')
        return self


class NotifyConfig(Section):
    """Notifications beyond the chair, as Apprise URLs."""

    urls: list[SecretStr] = Field(default_factory=list)


class LimitsConfig(Section):
    """Caps that keep a flood of bad or fake messages from exhausting the hub."""

    max_payload: int = Field(4096, ge=64, le=1 << 20)
    max_desks_per_prefix: int = Field(10000, ge=1, description="desks not in [desks.*]")
    forget_after: Duration = Field(
        7 * 86400.0, gt=0, description="a desk not in [desks.*] silent this long is forgotten"
    )
    queue_size: int = Field(100000, ge=100)


class TareConfig(Section):
    """When a chair's empty-seat baseline has wandered far enough to ask for a tare."""

    max_drift: float = Field(
        135000.0,
        gt=0,
        description="a chair whose reported drift (baseline minus the calibrated empty value) "
        "is larger than this, either way, needs a re-tare; in the sensor's units (microvolts "
        "for the adc sensor: 10 % of the default 150 000 to 1 500 000 span)",
    )


class DeskConfig(Section):
    """Where a desk is, and any rule that differs for it."""

    site: str = "default"
    floor: str = "default"
    zone: str = "default"
    limit: Duration | None = Field(None, gt=0)
    min_break: Duration | None = Field(None, gt=0)
    notify: list[SecretStr] = Field(default_factory=list)
    schedule: ScheduleConfig | None = None
    max_drift: float | None = Field(None, gt=0, description="[tare] max_drift for this desk")
    calendar: SecretStr | None = Field(
        None,
        description="an ICS address (http, https) or file: its busy events hold alerts back",
    )


class HomeAssistantConfig(Section):
    """Home Assistant MQTT discovery, published by the hub for every desk it knows."""

    enabled: bool = False
    discovery_prefix: str = "homeassistant"
    username: str | None = Field(
        None,
        description="login of the discovery connection, with the hub's password "
        "(a broker that takes client ids from logins needs one apart from the hub's)",
    )
    status_url: str | None = Field(
        None, description="the status page as people reach it, linked from each device"
    )
    desks: list[str] | None = Field(
        None,
        description="the desks to announce; unset: every desk under desk privacy, none "
        "under aggregate (list a person's own desk for their own setup)",
    )

    @field_validator("discovery_prefix")
    @classmethod
    def _check_discovery_prefix(cls, value: str) -> str:
        return check_prefix(value)

    @field_validator("status_url")
    @classmethod
    def _check_status_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// address")
        return value


class LogConfig(Section):
    """How loud the hub is."""

    level: Literal["debug", "info", "warning", "error"] = "warning"
    json_format: bool = Field(False, alias="json")
