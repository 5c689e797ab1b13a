"""``/metrics`` in the Prometheus text exposition format (version 0.0.4), written by hand.

The format is small and stable, so a client library would add a dependency
for a few lines. Every name starts with ``sitless_``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

from hub.contract.protocol import STATES
from hub.web.source import DeskView

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# counter name in the source -> (metric name, type, help)
_FROM_COUNTERS = (
    ("messages_in", "sitless_messages_in_total", "counter", "Device messages the hub received."),
    (
        "messages_dropped",
        "sitless_messages_dropped_total",
        "counter",
        "Device messages dropped as invalid, duplicate or over a limit.",
    ),
    ("alerts_out", "sitless_alerts_out_total", "counter", "Alert commands the hub sent to chairs."),
    (
        "alerts_acked",
        "sitless_alerts_acked_total",
        "counter",
        "Alert commands a chair acknowledged.",
    ),
    (
        "acks_unknown",
        "sitless_acks_unknown_total",
        "counter",
        "Acks naming no recent command of that desk.",
    ),
    (
        "spool_backlog",
        "sitless_spool_backlog",
        "gauge",
        "History points in the local spool not yet written to the history server.",
    ),
)


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(desks: Sequence[DeskView], counters: Mapping[str, float]) -> str:
    """The whole metrics page for one snapshot."""
    lines: list[str] = []
    for key, name, kind, text in _FROM_COUNTERS:
        if key not in counters:
            continue
        lines += [
            f"# HELP {name} {text}",
            f"# TYPE {name} {kind}",
            f"{name} {_number(counters[key])}",
        ]
    online = sum(1 for d in desks if d.online)
    lines += [
        "# HELP sitless_desks_online Desks whose chair is connected.",
        "# TYPE sitless_desks_online gauge",
        f"sitless_desks_online {online}",
        "# HELP sitless_desks_known Desks the hub has seen or has configured.",
        "# TYPE sitless_desks_known gauge",
        f"sitless_desks_known {len(desks)}",
    ]
    by_state = Counter(d.state for d in desks)
    lines += ["# HELP sitless_desks Desks in each sitting state.", "# TYPE sitless_desks gauge"]
    lines += [
        f'sitless_desks{{state="{_label(state)}"}} {by_state.get(state, 0)}' for state in STATES
    ]
    return "\n".join(lines) + "\n"
