"""Expand a dashboard query the way Grafana's InfluxDB (InfluxQL) datasource does.

Grafana rewrites a raw InfluxQL query before sending it: ``$timeFilter``
becomes a time condition in epoch milliseconds, ``$__interval`` the bucket
width it derived from the range and the panel's data points, ``${__from}`` and
``${__to}`` the range ends in milliseconds, and template variables their
selected values, regex-escaped and joined as ``(a|b)`` when several are
selected (``${name:raw}`` leaves the value as it is). Doing the same here
lets the shipped dashboards be run against a real InfluxDB and checked
without a Grafana server.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

DEFAULT_MAX_DATA_POINTS: Final = 1000
"""Grafana uses the panel's width in pixels when a panel sets none; a wide panel is about this."""

# Grafana's own steps (rangeutil.roundInterval): the raw interval in ms is rounded
# to the first "nice" width whose upper bound it stays under.
_ROUND_STEPS: Final = (
    (15, 10),
    (35, 20),
    (75, 50),
    (150, 100),
    (350, 200),
    (750, 500),
    (1_500, 1_000),
    (3_500, 2_000),
    (7_500, 5_000),
    (12_500, 10_000),
    (17_500, 15_000),
    (25_000, 20_000),
    (45_000, 30_000),
    (90_000, 60_000),
    (210_000, 120_000),
    (450_000, 300_000),
    (750_000, 600_000),
    (1_050_000, 900_000),
    (1_500_000, 1_200_000),
    (2_700_000, 1_800_000),
    (5_400_000, 3_600_000),
    (9_000_000, 7_200_000),
    (16_200_000, 10_800_000),
    (32_400_000, 21_600_000),
    (86_400_000, 43_200_000),
    (604_800_000, 86_400_000),
    (1_814_400_000, 604_800_000),
    (3_628_800_000, 2_592_000_000),
)
_YEAR_MS: Final = 31_536_000_000
_UNIT_MS: Final = {
    "ms": 1,
    "s": 1_000,
    "m": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
    "w": 604_800_000,
    "y": _YEAR_MS,
}
_INTERVAL_TEXT: Final = re.compile(r"^\s*>?\s*(\d+)\s*(ms|s|m|h|d|w|y)\s*$")
# $name, ${name}, ${name:format} and [[name]], as Grafana's template service reads them.
_VARIABLE: Final = re.compile(
    r"\$(\w+)|\[\[(\w+?)(?::\w+)?\]\]|\$\{(\w+)(?:\.[^:^}]+)?(?::([^}]+))?\}"
)
_REGEX_SPECIAL: Final = re.compile(r"[\\^$*+?.()|\[\]{}/]")


@dataclass(frozen=True, slots=True)
class TimeRange:
    """An absolute dashboard range in epoch milliseconds, both ends included."""

    start_ms: int
    end_ms: int

    def __post_init__(self) -> None:
        if self.end_ms <= self.start_ms:
            msg = f"the range must end after it starts ({self.start_ms} .. {self.end_ms})"
            raise ValueError(msg)


@dataclass(frozen=True, slots=True)
class Variable:
    """A template variable's selection; ``multi`` decides whether values become ``(a|b)``."""

    values: tuple[str, ...]
    multi: bool = True


def interval_to_ms(text: str) -> int:
    """``"60s"``, ``"1m"`` or ``">1m"`` (a panel's minimum interval) in milliseconds."""
    match = _INTERVAL_TEXT.match(text)
    if not match:
        msg = f"not an interval: {text!r} (expected e.g. 30s, 1m, 1h)"
        raise ValueError(msg)
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


def round_interval(raw_ms: float) -> int:
    """Round a raw bucket width to one of Grafana's steps."""
    for upper, step in _ROUND_STEPS:
        if raw_ms < upper:
            return step
    return _YEAR_MS


def interval_text(ms: int) -> str:
    """Grafana's short form of a width: the largest whole unit only (``90000`` is ``1m``)."""
    seconds = ms // 1000
    for unit, size in (("y", 31_536_000), ("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{ms}ms"


def interval_ms(
    time_range: TimeRange,
    max_data_points: int = DEFAULT_MAX_DATA_POINTS,
    min_interval: str | None = None,
) -> int:
    """The ``$__interval`` width: range over data points, rounded, but never below the minimum."""
    if max_data_points < 1:
        msg = f"max data points must be at least 1, not {max_data_points}"
        raise ValueError(msg)
    width = round_interval((time_range.end_ms - time_range.start_ms) / max_data_points)
    floor = interval_to_ms(min_interval) if min_interval else 1
    return max(width, floor)


def escape_regex(value: str) -> str:
    """Escape a tag value for use inside ``/.../`` the way Grafana does."""
    return _REGEX_SPECIAL.sub(lambda m: "\\" + m.group(0), value)


def format_variable(variable: Variable) -> str:
    """A variable's selection as Grafana writes it into InfluxQL."""
    escaped = [escape_regex(value) for value in variable.values]
    if not variable.multi or len(escaped) == 1:
        return escaped[0] if escaped else ""
    return "(" + "|".join(escaped) + ")"


def expand(
    query: str, time_range: TimeRange, variables: Mapping[str, Variable], interval: int
) -> str:
    """The query with every macro and variable replaced; an unknown ``$name`` is an error."""
    builtins = {
        "timeFilter": f"time >= {time_range.start_ms}ms and time <= {time_range.end_ms}ms",
        "__interval": interval_text(interval),
        "__interval_ms": str(interval),
        "__from": str(time_range.start_ms),
        "__to": str(time_range.end_ms),
    }
    unknown: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(3)
        if name in builtins:
            return builtins[name]
        if name in variables:
            if match.group(4) == "raw":  # ${name:raw}: the value as it is, never escaped
                return ",".join(variables[name].values)
            return format_variable(variables[name])
        unknown.append(name)
        return match.group(0)

    expanded = _VARIABLE.sub(replace, query)
    if unknown:
        msg = f"query uses undefined variable(s): {', '.join(sorted(set(unknown)))}"
        raise ValueError(msg)
    return expanded


def referenced_variables(text: str) -> list[str]:
    """Every variable name a query refers to, in order, built-ins included."""
    return [m.group(1) or m.group(2) or m.group(3) for m in _VARIABLE.finditer(text)]


def select_all(options: Sequence[str]) -> Variable:
    """What a multi-value variable set to "All" (with no custom all value) expands to."""
    return Variable(tuple(options), multi=True)
