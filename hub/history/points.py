"""Facts and desk samples as history points, following the schema in docs/history.md.

A point is kept as plain data (measurement, tags, fields, time) until it is
spooled, so the spool can also answer local reports; the line protocol text
follows influxdb-client's ``Point`` step for step with the client's own
escaping tables (``point_line`` keeps ``Point`` itself as the reference).
Field types are fixed per field (counts are integers, durations and readings
floats) because InfluxDB refuses a field whose type changes within a shard.
"""

from __future__ import annotations

import json
import math
import unicodedata
from typing import Final, NamedTuple

from influxdb_client.client.write.point import Point
from influxdb_client.domain.write_precision import WritePrecision

from hub.config import DeskConfig, HubConfig
from hub.core.facts import (
    AlertSent,
    BoutEnded,
    DeskSample,
    Fact,
    OccupancyChanged,
    Snoozed,
    TelemetryReceived,
)
from hub.history.verdict import judge, on_workday, rules_for

OCCUPANCY: Final = "occupancy"
DESK_STATE: Final = "desk_state"
SITTING_BOUT: Final = "sitting_bout"
ALERT: Final = "alert"
DEVICE_HEALTH: Final = "device_health"
ZONE_OCCUPANCY: Final = "zone_occupancy"
HUB_SPOOL: Final = "hub_spool"

PER_DESK: Final = frozenset({OCCUPANCY, DESK_STATE, SITTING_BOUT, ALERT})
"""Measurements that describe one person's sitting; privacy decides where they may go."""

FieldValue = int | float
PRECISION: Final = WritePrecision.MS
_DEFAULT_DESK: Final = DeskConfig()  # where a desk without a section of its own is

# Line-protocol escaping (InfluxDB's documented rules): measurement names escape commas
# and spaces; tag keys, tag values and field keys also escape equals signs. Control
# characters are escaped too, so a stray newline can never split a line in two.
_CONTROL: Final[dict[str, str]] = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}
_ESCAPE_MEASUREMENT: Final = str.maketrans({",": "\\,", " ": "\\ ", **_CONTROL})
_ESCAPE_KEY: Final = str.maketrans({",": "\\,", "=": "\\=", " ": "\\ ", **_CONTROL})


class HistoryPoint(NamedTuple):
    """One point before it becomes line protocol; ``ts_ms`` is event time in milliseconds.

    A NamedTuple, not a frozen dataclass: one or more are made per message, and a
    tuple is made in a quarter of the machine instructions, as immutable.
    """

    measurement: str
    tags: tuple[tuple[str, str], ...]
    fields: tuple[tuple[str, FieldValue], ...]
    ts_ms: int

    @property
    def desk(self) -> str | None:
        """The desk tag, if the point has one (for local reports and privacy checks)."""
        return dict(self.tags).get("desk")

    def key(self) -> str:
        """Series and time: two points with the same key are the same point, the later wins."""
        return json.dumps([self.measurement, self.tags, self.ts_ms], ensure_ascii=False)

    def fields_json(self) -> str:
        """The fields as JSON, so the local store can be read without parsing line protocol."""
        return json.dumps(dict(self.fields))

    def line(self) -> str:
        """Line protocol, byte for byte what influxdb-client's ``Point`` writes, made directly.

        ``Point`` costs about 25 us a point (a dict per point, numpy checks, a date
        helper for the time); a sample of 10 000 desks spent a quarter of a second
        there while the hub's owner thread waited. This does the same steps with
        the client's own escaping tables; ``point_line`` is the reference, and a
        test holds the two equal over arbitrary tags and values.
        """
        fields = []
        for key, number in sorted(dict(self.fields).items()):
            name = _field_names.get(key) or _field_name(key)
            if isinstance(number, bool):
                fields.append(f"{name}={str(number).lower()}")
            elif isinstance(number, int):
                fields.append(f"{name}={number}i")
            elif math.isfinite(number):
                text = str(number)
                fields.append(f"{name}={text.removesuffix('.0')}")
        if not fields:
            return ""
        return f"{_series(self.measurement, self.tags)} {','.join(fields)} {self.ts_ms}"

    def point_line(self) -> str:
        """Line protocol through influxdb-client's ``Point`` (the reference ``line`` matches)."""
        # influxdb-client's Point carries no type hints, hence the ignores.
        point = Point(self.measurement)  # type: ignore[no-untyped-call]
        for tag, text in self.tags:
            point.tag(tag, text)  # type: ignore[no-untyped-call]
        for field, value in self.fields:
            point.field(field, value)  # type: ignore[no-untyped-call]
        point.time(self.ts_ms, PRECISION)  # type: ignore[no-untyped-call]
        return str(point.to_line_protocol())  # type: ignore[no-untyped-call]


def _field_name(key: str) -> str:
    """A field name escaped for line protocol; there are a dozen, so each is kept."""
    name = key.translate(_ESCAPE_KEY)
    if len(_field_names) < _FIELD_NAMES_MAX:
        _field_names[key] = name
    return name


_FIELD_NAMES_MAX: Final = 256
_field_names: dict[str, str] = {}
_SERIES_CACHE_MAX: Final = 20_000  # a few series per desk; about 3 MB when full
_series_cache: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}


def _series(measurement: str, tags: tuple[tuple[str, str], ...]) -> str:
    """The escaped measurement and sorted tags of a line, built once per series.

    A desk's points share their series, so escaping and sorting the same tags
    again for every message was wasted work. The cache is plain data shared
    by the threads that make lines (each entry is computed the same way by
    any of them) and is emptied, not evicted, when it reaches its size cap.
    """
    key = (measurement, tags)
    series = _series_cache.get(key)
    if series is not None:
        return series
    parts = [measurement.translate(_ESCAPE_MEASUREMENT)]
    for name, text in sorted(dict(tags).items()):
        escaped_name = name.translate(_ESCAPE_KEY)
        value = text.translate(_ESCAPE_KEY)
        if value.endswith("\\"):
            value += " "
        if escaped_name and value:
            parts.append(f"{escaped_name}={value}")
    series = ",".join(parts)
    if len(_series_cache) >= _SERIES_CACHE_MAX:
        _series_cache.clear()
    _series_cache[key] = series
    return series


def to_ms(ts: float) -> int:
    """Seconds since the epoch to whole milliseconds, the precision every point is written at."""
    return round(ts * 1000)


def desk_tags(cfg: HubConfig, desk_id: str) -> tuple[tuple[str, str], ...]:
    """Where the desk is (from its config section, or the defaults) plus the desk id, cleaned.

    Built once per desk and place: every point of a desk carries the same four
    tags, and cleaning them again for each message was a measurable share of
    the hub's work per message.
    """
    # cfg.desks.get, not cfg.desk(): the latter builds a fresh default section each call.
    where = cfg.desks.get(desk_id) or _DEFAULT_DESK
    key = (where.site, where.floor, where.zone, desk_id)
    tags = _desk_tags_cache.get(key)
    if tags is None:
        tags = (
            ("site", clean_tag(where.site)),
            ("floor", clean_tag(where.floor)),
            ("zone", clean_tag(where.zone)),
            ("desk", clean_tag(desk_id)),
        )
        if len(_desk_tags_cache) >= _SERIES_CACHE_MAX:
            _desk_tags_cache.clear()
        _desk_tags_cache[key] = tags
    return tags


_desk_tags_cache: dict[tuple[str, str, str, str], tuple[tuple[str, str], ...]] = {}


def clean_tag(value: str) -> str:
    """Control characters become spaces: line protocol cannot carry them in a tag value.

    (InfluxDB stores an escaped tab as the two characters backslash and t, and a
    newline would end the line.) Everything else, quotes and unicode included,
    is kept and escaped by influxdb-client.
    """
    if value.isprintable():
        return value
    return "".join(" " if unicodedata.category(char) == "Cc" else char for char in value)


def _point(
    measurement: str,
    tags: tuple[tuple[str, str], ...],
    fields: dict[str, FieldValue | None],
    ts: float,
) -> HistoryPoint:
    """A point from tags already cleaned (``desk_tags``, ``_tag``) and fields that may be None."""
    kept = tuple([(name, value) for name, value in fields.items() if value is not None])
    return HistoryPoint(measurement, tags, kept, to_ms(ts))


def _tag(name: str, text: str) -> tuple[tuple[str, str]]:
    """One more tag, cleaned, to add to a desk's."""
    return ((name, clean_tag(text)),)


def from_fact(cfg: HubConfig, fact: Fact) -> list[HistoryPoint]:
    """The points a fact becomes; a snooze has none of its own (the bout counts snoozes)."""
    if isinstance(fact, OccupancyChanged):
        return [
            _point(
                OCCUPANCY,
                desk_tags(cfg, fact.desk),
                {"seated": int(fact.seated), "seq": int(fact.seq)},
                fact.ts,
            )
        ]
    if isinstance(fact, BoutEnded):
        responded = None if fact.responded_s is None else float(fact.responded_s)
        tags = desk_tags(cfg, fact.desk) + _tag("ended_by", fact.ended_by)
        verdict = judge(
            float(fact.duration_s),
            int(fact.alerts),
            fact.ended_by,
            responded,
            rules_for(cfg)(fact.desk),
        )
        fields: dict[str, FieldValue | None] = {
            "duration_s": float(fact.duration_s),
            "alerts": int(fact.alerts),
            "snoozes": int(fact.snoozes),
            "max_level": int(fact.max_level),
            "responded_s": responded,
            "limit_bout": int(verdict.limit_bout),
            "answered": int(verdict.answered),
            "workday": int(on_workday(cfg, fact.desk, fact.start)),
        }
        return [_point(SITTING_BOUT, tags, fields, fact.start)]
    if isinstance(fact, AlertSent):
        tags = desk_tags(cfg, fact.desk) + _tag("level", str(fact.level))
        return [
            _point(
                ALERT, tags, {"seated_s": float(fact.seated_s), "acked": int(fact.acked)}, fact.ts
            )
        ]
    if isinstance(fact, TelemetryReceived):
        tel = fact.telemetry
        tags = desk_tags(cfg, fact.desk) + _tag("fw", tel.fw)
        fields = {
            "rssi": None if tel.rssi is None else int(tel.rssi),
            "heap_free": int(tel.heap_free),
            "uptime_s": tel.uptime_ms / 1000.0,
            "value": float(tel.value),
            "baseline": float(tel.baseline),
            "reconnects": int(tel.reconnects),
        }
        return [_point(DEVICE_HEALTH, tags, fields, fact.ts)]
    if isinstance(fact, Snoozed):
        return []
    msg = f"not a history fact: {type(fact).__name__}"
    raise TypeError(msg)


def from_sample(cfg: HubConfig, sample: DeskSample, ts: float) -> HistoryPoint:
    """A desk's state at the (period-aligned) sample instant."""
    return _point(
        DESK_STATE,
        desk_tags(cfg, sample.desk),
        {"occupied": int(sample.occupied), "seated_s": float(sample.seated_s)},
        ts,
    )


def zone_point(where: tuple[str, str, str], occupied: int, desks: int, ts: float) -> HistoryPoint:
    """One (site, floor, zone) group's occupancy at a sample instant; never a desk tag."""
    fields: dict[str, FieldValue | None] = {
        "occupied": int(occupied),
        "desks": int(desks),
        "utilisation": occupied / desks if desks else 0.0,
    }
    tags = tuple(zip(("site", "floor", "zone"), map(clean_tag, where), strict=True))
    return _point(ZONE_OCCUPANCY, tags, fields, ts)


def spool_point(
    hub_id: str, rows: int, oldest_unsent_s: float | None, dead_letters: int, ts: float
) -> HistoryPoint:
    """The hub's own backlog at a sample instant, for the fleet-health dashboard.

    It reaches InfluxDB only once the backlog has drained, so it shows the
    history of the backlog; the live figure is on the status page.
    """
    fields: dict[str, FieldValue | None] = {
        "rows": int(rows),
        "oldest_unsent_s": None if oldest_unsent_s is None else float(oldest_unsent_s),
        "dead_letters": int(dead_letters),
    }
    return _point(HUB_SPOOL, _tag("hub", hub_id), fields, ts)
