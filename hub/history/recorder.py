"""``History``: what the hub core calls to keep its history.

``record`` and ``sample`` only turn facts into points and insert them into the
local spool in one transaction; they never touch the network and never raise
for a full disk or a broken spool (the hub must keep alerting even when it
cannot keep history). The writer thread, started only when a server is
configured, does the sending. Without a server the spool is the store and
is pruned to ``history.local_retention``.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any, Final

from hub.config import HubConfig
from hub.core.facts import DeskSample, Fact
from hub.errors import HistoryError
from hub.history.points import (
    HistoryPoint,
    from_fact,
    from_sample,
    spool_point,
    to_ms,
    zone_point,
)
from hub.history.privacy import Router, zone_counts
from hub.history.sinks import READ_TIMEOUT_S, make_sink
from hub.history.spool import Spool, is_full
from hub.history.writer import Writer

logger = logging.getLogger(__name__)

FULL_REMINDER_EVERY_S: Final = 60.0
PRUNE_EVERY_S: Final = 3600.0
MEGABYTE: Final = 1024 * 1024
# Longer than a request's read timeout times the targets a turn may try, plus the back-off.
WRITER_STUCK_S: Final = 4 * READ_TIMEOUT_S


class History:
    """The hub's history: a durable spool, and a writer draining it when a server is set."""

    def __init__(self, cfg: HubConfig) -> None:
        self._cfg = cfg
        self._router = Router(cfg.history)
        self._spool: Spool | None = None
        self._writer: Writer | None = None
        self._lock = threading.Lock()
        self._refused = 0
        self._full_since: float | None = None
        self._last_full_log = 0.0
        self._last_prune = 0.0
        self._held: list[tuple[str, HistoryPoint]] | None = None
        self._held_by = 0

    @property
    def server_configured(self) -> bool:
        """Whether points leave the machine (otherwise the spool is the store)."""
        return self._cfg.history.api in ("v1", "v2")

    def start(self) -> None:
        """Open the spool and, with a server configured, start the writer thread."""
        path = self._cfg.state_path(self._cfg.history.spool)
        max_bytes = int(self._cfg.history.max_spool_mb * MEGABYTE)
        try:
            self._spool = Spool(path, max_bytes, sends=self.server_configured)
        except Exception as exc:
            raise HistoryError(f"cannot open the history spool {path}: {exc}") from exc
        sink = make_sink(self._cfg.history)
        if sink is None:
            self._prune(time.monotonic())
            return
        self._writer = Writer(path, max_bytes, sink, self._cfg.history.batch_size)
        self._writer.start()

    def record(self, fact: Fact) -> None:
        """Spool the points of one fact (a replay of the same fact replaces, never duplicates)."""
        try:
            points = from_fact(self._cfg, fact)
        except (TypeError, ValueError) as exc:
            with self._lock:
                self._refused += 1
            logger.error(  # noqa: TRY400 - the reason is enough
                "history cannot store %s: %s",
                type(fact).__name__,
                exc,
                extra={"desk": getattr(fact, "desk", None)},
            )
            return
        self._spool_points(points)

    def sample(self, ts: float, samples: Sequence[DeskSample]) -> None:
        """Spool one desk_state per desk, one zone_occupancy per (merged) zone and the backlog."""
        points = [from_sample(self._cfg, one, ts) for one in samples]
        points += [
            zone_point((z.site, z.floor, z.zone), z.occupied, z.desks, ts)
            for z in zone_counts(self._cfg, samples, self._cfg.history.min_group)
        ]
        if self.server_configured:
            backlog = self.stats()
            points.append(
                spool_point(
                    self._cfg.mqtt.client_id,
                    backlog["spool_rows"] or 0,
                    backlog["oldest_unsent_s"],
                    backlog["dead_letters"] or 0,
                    ts,
                )
            )
        self._spool_points(points)

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Spool everything recorded inside in one transaction when the block ends.

        An SQLite commit costs far more than an insert, so the hub wraps each
        batch of messages in this rather than committing once per message. Only
        the calling thread's records are held; another thread's go in at once.
        """
        if self._held is not None:
            yield
            return
        self._held = []
        self._held_by = threading.get_ident()
        try:
            yield
        finally:
            held, self._held = self._held, None
            if held:
                self._insert(held)

    def stats(self) -> dict[str, Any]:
        """Spool size and age, dead letters and counts, for the status page and metrics."""
        spool = self._require_spool()
        writer = self._writer
        with self._lock:
            try:
                size = spool.size()
            except sqlite3.Error as exc:
                logger.error("cannot read the history spool's size: %s", exc)  # noqa: TRY400 - expected failure, no trace needed
                size = None
            refused, full = self._refused, self._full_since is not None
        oldest = None
        if size is not None and size.oldest_spooled is not None and self.server_configured:
            oldest = max(0.0, time.time() - size.oldest_spooled)
        return {
            "spool_rows": None if size is None else size.rows,
            "spool_bytes": None if size is None else size.bytes,
            "oldest_unsent_s": oldest,
            "dead_letters": None if size is None else size.dead_letters,
            "written": 0 if writer is None else writer.written,
            "refused": refused,
            "spool_full": full,
            "server_reachable": None if writer is None else writer.reachable,
        }

    def writer_health(self) -> tuple[bool, str]:
        """Whether the writer is moving, and why not; a server that is down is not a fault here.

        While the server is away the writer keeps turning (it backs off and the
        spool holds the points); it is stuck when its thread has ended or no turn
        has come for longer than any request and back-off together may take.
        """
        writer = self._writer
        if writer is None:
            if self.server_configured:
                return False, "the history writer is not running"
            return True, "no history server: the local spool is the store"
        if not writer.is_alive():
            return False, "the history writer thread has ended"
        idle = time.monotonic() - writer.last_turn
        if idle > WRITER_STUCK_S:
            return False, f"the history writer has not moved for {idle:.0f} s"
        if writer.reachable is False:
            return True, "writer moving; the server is unavailable, points wait in the spool"
        return True, "writer moving"

    def close(self) -> None:
        """Stop the writer (what it has not sent stays spooled) and close the spool."""
        if self._writer is not None:
            self._writer.stop(timeout=READ_TIMEOUT_S + 5)
            self._writer = None
        with self._lock:
            if self._spool is not None:
                self._spool.close()
                self._spool = None

    def _require_spool(self) -> Spool:
        if self._spool is None:
            msg = "History.start() must be called before the history is used"
            raise HistoryError(msg)
        return self._spool

    def _spool_points(self, points: Sequence[HistoryPoint]) -> None:
        self._require_spool()
        rows = [routed for point in points for routed in self._router.route(point)]
        if not rows:
            return
        if self._held is not None and self._held_by == threading.get_ident():
            self._held.extend(rows)
            return
        self._insert(rows)  # outside a batch, or another thread (samples): at once

    def _insert(self, rows: Sequence[tuple[str, HistoryPoint]]) -> None:
        spool = self._require_spool()
        now = time.monotonic()
        with self._lock:
            try:
                if self.server_configured:
                    spool.add(rows, time.time())
                else:
                    spool.keep([point for _, point in rows])
            except sqlite3.Error as exc:
                self._refuse(len(rows), exc, now)
                return
            if self._full_since is not None:
                logger.warning(
                    "history spool accepts points again after %.0f s; "
                    "%d points were dropped meanwhile",
                    now - self._full_since,
                    self._refused,
                )
                self._full_since = None
            if not self.server_configured and now - self._last_prune >= PRUNE_EVERY_S:
                self._prune(now)

    def _refuse(self, count: int, exc: Exception, now: float) -> None:
        """Count and shout, at most once a minute; the caller carries on."""
        self._refused += count
        first = self._full_since is None
        if first:
            self._full_since = now
        if first or now - self._last_full_log >= FULL_REMINDER_EVERY_S:
            self._last_full_log = now
            what = "FULL (disk or history.max_spool_mb)" if is_full(exc) else "failing"
            logger.error(
                "history spool %s: %s; new points are DROPPED until it recovers "
                "(%d dropped so far)",
                what,
                exc,
                self._refused,
            )

    def _prune(self, now: float) -> None:
        """Keep the local store to ``local_retention`` (only when there is no server)."""
        self._last_prune = now
        spool = self._require_spool()
        cutoff = to_ms(time.time() - self._cfg.history.local_retention)
        try:
            gone = spool.prune(cutoff)
        except sqlite3.Error as exc:
            logger.error("cannot prune the history spool: %s", exc)  # noqa: TRY400 - expected failure
            return
        if gone:
            logger.info("history: pruned %d points older than the local retention", gone)
