"""Drift and tare on the status page and its API.

Each desk whose chair reports a drift carries ``drift``, ``max_drift`` and
``needs_retare`` in ``/api/desks`` (the page shows a "needs re-tare" badge).
``POST /api/desks/D/tare`` is for admins only (any caller when the page has no
accounts, with the ``X-Sitless: 1`` header like pause; with accounts, the
session's CSRF token as every POST): the hub sends ``tare`` and answers with
the chair's ack, waiting up to ``WAIT_S``. A chair refuses while someone sits;
the answer then carries the chair's reason.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final, Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from hub.web.source import DeskView

if TYPE_CHECKING:  # the core imports the config, which imports this package: types only here
    from hub.core.drift import Drift
    from hub.core.registry import DeskEntry
    from hub.core.requests import Pending

WAIT_S: Final = 10.0


class Commander(Protocol):
    """What ``ask`` needs from the hub service."""

    def command(self, desk_id: str, action: str, origin: str = "api") -> Pending:
        """Send an action to a desk's chair; the pending command gets its ack."""
        ...


class DriftSource(Protocol):
    """What the page needs from the service to show drift with its views."""

    def drifts(self) -> dict[str, Drift]:
        """Every chair's latest drift."""
        ...

    def views_since(
        self, marks: Mapping[str, Hashable]
    ) -> tuple[dict[str, Hashable], list[DeskEntry]]:
        """The service's own change marks."""
        ...


@dataclass(frozen=True, slots=True)
class TareAnswer:
    """How a tare ended: done, refused (by the hub or the chair, with why), or no answer."""

    desk: str
    id: str
    ok: bool | None
    error: str | None = None

    @property
    def status(self) -> HTTPStatus:
        """200 done, 409 refused, 504 no answer in time."""
        if self.ok is None:
            return HTTPStatus.GATEWAY_TIMEOUT
        return HTTPStatus.OK if self.ok else HTTPStatus.CONFLICT

    def as_json(self) -> dict[str, Any]:
        """The API's answer."""
        body: dict[str, Any] = {"desk": self.desk, "id": self.id, "ok": self.ok}
        if self.ok is None:
            body["error"] = f"the chair did not answer within {WAIT_S:.0f} s"
        elif self.error:
            body["error"] = self.error
        return body


def ask(service: Commander, desk: str, wait: float = WAIT_S) -> TareAnswer:
    """Send ``tare`` through the service and wait for the chair's ack."""
    pending = service.command(desk, "tare", "api")
    if not pending.wait(wait):
        return TareAnswer(desk, pending.id, None)
    return TareAnswer(desk, pending.id, pending.ok, pending.error)


def desk_extra(drift: Drift | None) -> dict[str, Any]:
    """The keys a desk's JSON gains from its chair's drift (none when it reports none)."""
    if drift is None:
        return {}
    return {"drift": drift.value, "max_drift": drift.limit, "needs_retare": drift.needs_retare}


def with_drift(views: Iterable[DeskView], drifts: Mapping[str, Drift]) -> list[DeskView]:
    """The views, each with its chair's drift keys."""
    out = []
    for view in views:
        extra = desk_extra(drifts.get(view.desk))
        out.append(dataclasses.replace(view, extra={**view.extra, **extra}) if extra else view)
    return out


def changed_since(
    service: DriftSource,
    marks: Mapping[str, Hashable],
    view_of: Callable[[DeskEntry], DeskView],
) -> tuple[dict[str, Hashable], list[DeskView]]:
    """The service's changes, where a desk also changes when its re-tare verdict flips.

    Each mark is the service's own mark with the verdict beside it, so a
    chair whose drift crossed ``max_drift`` is sent again although its
    sitting view did not move.
    """
    drifts = service.drifts()
    verdict = {desk: d.needs_retare for desk, d in drifts.items()}
    inner: dict[str, Hashable] = {}
    for desk, mark in marks.items():
        if isinstance(mark, tuple) and len(mark) == 2 and mark[1] == verdict.get(desk):
            inner[desk] = mark[0]
    now_marks, entries = service.views_since(inner)
    views = with_drift([view_of(e) for e in entries], drifts)
    return {desk: (mark, verdict.get(desk)) for desk, mark in now_marks.items()}, views


def post(handler: Any, source: object, desk: str) -> None:
    """``POST /api/desks/D/tare``: admins only; the chair's ack, or why not."""
    gate = handler.gate
    viewer = handler.viewer
    if gate.required and (viewer is None or viewer.role != "admin"):
        handler.reply(HTTPStatus.FORBIDDEN, {"error": "only an admin may tare a chair"})
        return
    tare = getattr(source, "tare", None)
    if tare is None:
        handler.reply(HTTPStatus.NOT_IMPLEMENTED, {"error": "this hub cannot send commands"})
        return
    answer: TareAnswer = tare(desk)
    handler.reply(answer.status, answer.as_json())


def families(source: object, operations: object) -> Iterator[Metric]:
    """``/metrics``: how many chairs need a re-tare, asked commands and their acks.

    Never a desk label (docs/privacy.md: facilities read ``/metrics`` too);
    which desk it is shows on the page and in ``/api/desks``.
    """
    snapshot = getattr(source, "snapshot", None)
    views = snapshot() if snapshot is not None else []
    yield GaugeMetricFamily(
        "sitless_desks_needing_retare",
        "Chairs whose reported drift is beyond max_drift.",
        value=sum(1 for view in views if view.extra.get("needs_retare") is True),
    )
    asked = getattr(operations, "asked", None)
    if asked is None:
        return
    counts = asked()
    requests = CounterMetricFamily(
        "sitless_commands_asked",
        "Commands asked of the hub for a desk (the API, Home Assistant), by origin and action.",
        labels=["origin", "action"],
    )
    for (origin, action), n in sorted(counts["requests"].items()):
        requests.add_metric([origin, action], n)
    yield requests
    acks = CounterMetricFamily(
        "sitless_command_acks",
        "Chairs' acks matched to asked-for commands, by origin and outcome (ok, refused).",
        labels=["origin", "outcome"],
    )
    for (origin, outcome), n in sorted(counts["acks"].items()):
        acks.add_metric([origin, outcome], n)
    yield acks
