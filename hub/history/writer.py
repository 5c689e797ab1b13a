"""The writer thread: drains the spool to the server, oldest first, and never loses a row.

A batch is deleted from the spool only after the server accepted it. While the
server is down, busy or refusing our credentials, the writer backs off (0.25 s
doubling up to 10 s, so a returning server is noticed quickly without
hammering a dead one) and says so in the log with the backlog's size and age.
When the server refuses the data itself, the batch is halved until the bad
lines are isolated; those go to the dead-letter table and everything else is
written. Re-sending lines the server had already taken is harmless because
every point carries its own event time: InfluxDB overwrites instead of
duplicating.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from hub.history.reserve import Reserve
from hub.history.sinks import Sink, SinkRejectedError, SinkUnavailableError
from hub.history.spool import Spool, is_full

logger = logging.getLogger(__name__)

IDLE_POLL_S: Final = 0.5
BACKOFF_FIRST_S: Final = 0.25
BACKOFF_MAX_S: Final = 10.0
BACKLOG_LOG_EVERY_S: Final = 300.0
BACKLOG_WORTH_LOGGING_S: Final = 60.0


class Writer(threading.Thread):
    """Owns its own spool connection and the sink; stopped with ``stop()``."""

    def __init__(self, spool_path: Path, max_bytes: int, sink: Sink, batch_size: int) -> None:
        super().__init__(name="sitless-history-writer", daemon=True)
        self._spool_path = spool_path
        self._max_bytes = max_bytes
        self._sink = sink
        self._batch_size = batch_size
        self._stopping = threading.Event()
        self.written = 0
        self.dead = 0
        self.reachable: bool | None = None
        self.last_turn = time.monotonic()  # each turn of the loop; health reads it
        self._last_backlog_log = 0.0
        self._last_partial_log = -BACKLOG_LOG_EVERY_S
        self._reserve = Reserve(spool_path.parent)

    def stop(self, timeout: float) -> None:
        """Ask the thread to finish its current request and exit, waiting up to ``timeout``."""
        self._stopping.set()
        if self.is_alive():
            self.join(timeout)

    def run(self) -> None:
        """Drain, back off, repeat until stopped; one bad turn never ends the thread."""
        spool = Spool(self._spool_path, self._max_bytes, sends=True)
        self._reserve.restore()
        backoff = 0.0
        try:
            while not self._stopping.is_set():
                self.last_turn = time.monotonic()
                try:
                    drained = self._drain(spool)
                except SinkUnavailableError as exc:
                    backoff = min(BACKOFF_MAX_S, max(BACKOFF_FIRST_S, backoff * 2))
                    self._went_down(spool, str(exc))
                    self._stopping.wait(backoff)
                    continue
                except Exception:
                    logger.exception("history writer hit an unexpected error; retrying")
                    backoff = min(BACKOFF_MAX_S, max(BACKOFF_FIRST_S, backoff * 2))
                    self._stopping.wait(backoff)
                    continue
                backoff = 0.0
                if not drained:
                    self._reserve.restore()
                    self._stopping.wait(IDLE_POLL_S)
        finally:
            self._sink.close()
            spool.close()

    def _drain(self, spool: Spool) -> bool:
        """Send one batch per target; True when something was delivered.

        A target that fails (say the personal database is missing) does not hold
        the others back; only when every waiting target fails does the writer
        back off.
        """
        sent = False
        failure: SinkUnavailableError | None = None
        for target in spool.pending_targets():
            rows = spool.batch(target, self._batch_size)
            if rows:
                try:
                    self._deliver(spool, target, rows)
                except SinkUnavailableError as exc:
                    failure = exc
                else:
                    sent = True
            if self._stopping.is_set():
                break
        if failure is not None:
            if not sent:
                raise failure
            self._partly_down(str(failure))
        if sent:
            self._came_back(spool)
        return sent

    def _deliver(self, spool: Spool, target: str, rows: Sequence[tuple[int, str]]) -> None:
        try:
            self._sink.send(target, [line for _, line in rows])
        except SinkRejectedError as exc:
            if len(rows) > 1:
                half = len(rows) // 2
                self._deliver(spool, target, rows[:half])
                self._deliver(spool, target, rows[half:])
                return
            self._dead_letter(spool, target, rows, exc)
            return
        # Counted as soon as the server has them, so a reader never sees the spool
        # emptied with the count still short.
        self.written += len(rows)
        self._forget_sent(spool, [row_id for row_id, _ in rows])

    def _forget_sent(self, spool: Spool, handles: list[int]) -> None:
        """Forget delivered rows; on a full disk, with the reserve's room (else it never drains)."""
        try:
            spool.delete(handles)
        except Exception as exc:
            if not is_full(exc) or not self._reserve.release():
                raise
            spool.delete(handles)

    def _dead_letter(
        self, spool: Spool, target: str, rows: Sequence[tuple[int, str]], exc: SinkRejectedError
    ) -> None:
        try:
            spool.dead_letter(target, rows, exc.status, str(exc), time.time())
        except Exception as spool_exc:
            if is_full(spool_exc):
                msg = "spool full; cannot move a rejected line aside"
                raise SinkUnavailableError(msg) from spool_exc
            raise
        self.dead += len(rows)
        logger.error(
            "history server rejected a point (%s); moved it to the dead-letter table "
            "(%d so far): %.200s",
            exc,
            self.dead,
            rows[0][1],
        )

    def _went_down(self, spool: Spool, reason: str) -> None:
        now = time.monotonic()
        if self.reachable is not False or now - self._last_backlog_log >= BACKLOG_LOG_EVERY_S:
            size = spool.size()
            age = 0.0 if size.oldest_spooled is None else time.time() - size.oldest_spooled
            logger.warning(
                "history server unavailable (%s); %d points wait in the spool, oldest %.0f s",
                reason,
                size.rows,
                age,
            )
            self._last_backlog_log = now
        self.reachable = False

    def _partly_down(self, reason: str) -> None:
        now = time.monotonic()
        if now - self._last_partial_log >= BACKLOG_LOG_EVERY_S:
            self._last_partial_log = now
            logger.warning(
                "history: one target cannot be written (%s); the others carry on", reason
            )

    def _came_back(self, spool: Spool) -> None:
        if self.reachable is False:
            size = spool.size()
            logger.warning("history server reachable again; %d points left to send", size.rows)
        self.reachable = True
        now = time.monotonic()
        if now - self._last_backlog_log >= BACKLOG_LOG_EVERY_S:
            size = spool.size()
            if size.oldest_spooled is not None:
                age = time.time() - size.oldest_spooled
                if age >= BACKLOG_WORTH_LOGGING_S:
                    logger.info("history backlog: %d points, oldest %.0f s", size.rows, age)
            self._last_backlog_log = now
