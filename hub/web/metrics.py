"""``/metrics``: the hub's numbers through prometheus-client, plus its process collector.

Each status page has its own registry, so several hubs in one process (tests,
the demo) never share or clash. Every hub metric starts with ``sitless_``; the
process collector adds the usual ``process_*`` (CPU, memory, open files, start
time). The numbers are read when scraped: nothing is counted twice.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Mapping

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from hub.contract.protocol import STATES
from hub.web import tare
from hub.web.ops import Check, Operations, OperationsSource
from hub.web.source import StatusSource

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
DROP_PREFIX = "dropped_"

# counter name in the source -> (metric name, help)
_COUNTERS = (
    ("messages_in", "sitless_messages_in", "Device messages the hub received."),
    ("alerts_out", "sitless_alerts_out", "Alert commands the hub sent to chairs."),
    ("alerts_acked", "sitless_alerts_acked", "Alert commands a chair acknowledged."),
    ("acks_unknown", "sitless_acks_unknown", "Acks naming no recent command of that desk."),
)


class HubCollector(Collector):
    """Reads the source (and the hub's operations, when running for real) at scrape time."""

    def __init__(self, source: StatusSource, operations: OperationsSource | None = None) -> None:
        self.source = source
        self.ops = operations

    def collect(self) -> Iterator[Metric]:
        """Every sitless_ family for one scrape."""
        counters = self.source.counters()
        for key, name, text in _COUNTERS:
            if key in counters:
                yield CounterMetricFamily(name, text, value=counters[key])
        yield _drops(counters)
        yield from _desks(self.source)
        yield from tare.families(self.source, self.ops)
        if self.ops is not None:
            yield from _operations(self.ops.operations())
            yield _checks(self.ops.health())
        elif "spool_backlog" in counters:
            yield GaugeMetricFamily(
                "sitless_spool_backlog", _BACKLOG_HELP, value=counters["spool_backlog"]
            )


_BACKLOG_HELP = "History points in the local spool not yet written to the history server."


def _drops(counters: Mapping[str, float]) -> Metric:
    family = CounterMetricFamily(
        "sitless_messages_dropped",
        "Device messages dropped, by reason (invalid, duplicate, over a limit ...).",
        labels=["reason"],
    )
    reasons = {
        k.removeprefix(DROP_PREFIX): v for k, v in counters.items() if k.startswith(DROP_PREFIX)
    }
    if not reasons and counters.get("messages_dropped"):
        reasons = {"unspecified": counters["messages_dropped"]}
    for reason in sorted(reasons):
        family.add_metric([reason], reasons[reason])
    return family


def _desks(source: StatusSource) -> Iterator[Metric]:
    desks = source.snapshot()
    yield GaugeMetricFamily(
        "sitless_desks_online",
        "Desks whose chair is connected.",
        value=sum(1 for d in desks if d.online),
    )
    yield GaugeMetricFamily(
        "sitless_desks_known", "Desks the hub has seen or has configured.", value=len(desks)
    )
    by_state = Counter(d.state for d in desks)
    family = GaugeMetricFamily("sitless_desks", "Desks in each sitting state.", labels=["state"])
    for state in STATES:
        family.add_metric([state], by_state.get(state, 0))
    yield family


def _operations(ops: Operations) -> Iterator[Metric]:
    yield GaugeMetricFamily(
        "sitless_mqtt_connected",
        "1 while the hub is connected to the broker, else 0.",
        value=1 if ops.mqtt_connected else 0,
    )
    yield CounterMetricFamily(
        "sitless_mqtt_reconnects",
        "Connections to the broker after the first one.",
        value=ops.mqtt_reconnects,
    )
    refused = CounterMetricFamily(
        "sitless_mqtt_refused",
        "Publishes, subscriptions and connections the broker refused (or that were not sent"
        " because it would), by reason.",
        labels=["reason"],
    )
    for reason in sorted(ops.mqtt_refused):
        refused.add_metric([reason], ops.mqtt_refused[reason])
    yield refused
    sent = CounterMetricFamily(
        "sitless_commands_sent", "Commands the hub sent to chairs, by command.", labels=["command"]
    )
    for command in sorted(ops.commands_sent):
        sent.add_metric([command], ops.commands_sent[command])
    yield sent
    yield CounterMetricFamily(
        "sitless_commands_refused",
        "Commands a chair answered with ok=false.",
        value=ops.commands_refused,
    )
    notes = CounterMetricFamily(
        "sitless_notifications",
        "Notifications beyond the chair (Apprise), by result.",
        labels=["result"],
    )
    for result in sorted(ops.notifications):
        notes.add_metric([result], ops.notifications[result])
    yield notes
    if ops.spool_backlog is not None:
        yield GaugeMetricFamily("sitless_spool_backlog", _BACKLOG_HELP, value=ops.spool_backlog)
    oldest = ops.spool_oldest_s
    yield GaugeMetricFamily(
        "sitless_spool_oldest_age_seconds",
        "Age of the oldest point waiting in the spool (0 when none waits).",
        value=0.0 if oldest is None or math.isnan(oldest) else oldest,
    )
    yield CounterMetricFamily(
        "sitless_history_written",
        "History points the history server accepted.",
        value=ops.history_written,
    )
    if ops.dead_letters is not None:
        yield GaugeMetricFamily(
            "sitless_spool_dead_letters",
            "Points the history server refused, kept aside in the spool.",
            value=ops.dead_letters,
        )


def _checks(checks: Mapping[str, Check]) -> Metric:
    family = GaugeMetricFamily(
        "sitless_health_check", "1 when the named /healthz check passes, else 0.", labels=["check"]
    )
    for name in sorted(checks):
        family.add_metric([name], 1 if checks[name].ok else 0)
    return family


def registry(source: StatusSource, operations: OperationsSource | None = None) -> CollectorRegistry:
    """A private registry with the hub's collector and the process collector."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(HubCollector(source, operations))
    ProcessCollector(registry=reg)
    return reg


def render(reg: CollectorRegistry) -> bytes:
    """The whole page for one scrape, in the text format (0.0.4)."""
    return generate_latest(reg)
