"""When to connect again: a backoff of 1 s doubling to 30 s, and no broker keeps us in a loop.

A connection that lasted resets the backoff. One the broker ended soon after
a refusal does not, and neither does the second of two in a row that the
broker closed soon without a word. Either a publish it will not take was in
flight both times (``Outbox.give_up_on_suspects`` drops it), or another
client connects with our client id, as mosquitto shows a session takeover:
then the wait is at least ``TAKEOVER_WAIT_S``, so two clients with one id do
not throw each other off many times a second.
"""

from __future__ import annotations

from hub.mqtt.outbox import Outbox
from hub.mqtt.refusals import Refusals

RECONNECT_MIN_S = 1.0
RECONNECT_MAX_S = 30.0
STABLE_LINK_S = 5.0  # a connection shorter than this that ended badly does not reset the backoff
TAKEOVER_WAIT_S = 5.0  # after another client took our session: the least wait before trying again


class Backoff:
    """The wait before the next connection, from how the last ones ended."""

    def __init__(self, outbox: Outbox, refusals: Refusals, client_id: str) -> None:
        self.outbox = outbox
        self.refusals = refusals
        self.client_id = client_id
        self.delay = RECONNECT_MIN_S
        self.taken_over = False  # set when the broker says (or shows) that our session was taken
        self._short_links = 0  # accepted connections in a row the broker soon closed

    def ended(self, lived: float, *, accepted: bool, troubled: bool, closing: bool) -> None:
        """A connection ended after ``lived`` seconds; reset the backoff if it worked."""
        if accepted and self._worked(lived, troubled=troubled, closing=closing):
            self.delay = RECONNECT_MIN_S

    def next_wait(self) -> float:
        """How long to wait now; the wait after this one doubles, up to the maximum."""
        delay = self.delay
        if self.taken_over:
            self.taken_over = False
            delay = max(delay, TAKEOVER_WAIT_S)
        self.delay = min(delay * 2, RECONNECT_MAX_S)
        return delay

    def _worked(self, lived: float, *, troubled: bool, closing: bool) -> bool:
        if closing or lived >= STABLE_LINK_S:
            self._short_links = 0
            return True
        if troubled:
            return False
        self._short_links += 1
        if self._short_links < 2:  # one short link may be a broker restart
            self.outbox.give_up_on_suspects()
            return True
        if self.outbox.give_up_on_suspects():  # explained: a publish it will not take
            self._short_links = 0
            return False
        self.taken_over = True
        self.refusals.add(
            "closed_by_broker",
            "the broker closed the connection %.1f s after accepting it, %d times in a row: "
            "another client may be connecting with the hub's client id %r (a session "
            "takeover); trying again in %g s at the earliest",
            lived,
            self._short_links,
            self.client_id,
            TAKEOVER_WAIT_S,
        )
        return False
