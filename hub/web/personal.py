"""The person's own page: one desk's bout clock, its alert and movement, and its day of breaks.

``/me`` is the phone page (``me.html``), ``/api/me`` its data: the desk as the
status page sees it, the time to the next alert, the movement of the current
alert as steps with holds and repetitions, whether a snooze is allowed under
the chair's own rules (``strict``, ``max_snoozes``), and the break accounting
(today, the last 7 days, the week's goal and the streak). A person signed in
with their link or account sees only their desk; an admin, or anyone on an
open loopback page, names the desk with ``?desk=``. The service worker and
manifest are served from the root so they may control ``/me``.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from importlib import resources
from typing import Any, Final
from urllib.parse import parse_qs

from hub.core.alerts import MOVES
from hub.errors import SitlessError
from hub.web.broadcast import as_of

DESK_ID: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}\Z")
ROOT_FILES: Final = {"/sw.js": "sw.js", "/me.webmanifest": "me.webmanifest"}
STANDING_TTL_S: Final = 30.0


@dataclass(frozen=True, slots=True)
class Move:
    """One movement as the page shows it."""

    name: str
    steps: tuple[str, ...]
    hold_s: float | None = None
    sets: int | None = None
    reps: int | None = None

    def as_json(self) -> dict[str, Any]:
        """Plain values."""
        return {
            "name": self.name,
            "steps": list(self.steps),
            "hold_s": self.hold_s,
            "sets": self.sets,
            "reps": self.reps,
        }


# The article's movements, each keyed by the sentence the hub sends to the chair.
STEPS: Final[dict[str, Move]] = {
    MOVES[0]: Move(
        "Walk",
        ("Stand up.", "Walk for two minutes.", "Take the stairs if there are any."),
        hold_s=120.0,
    ),
    MOVES[1]: Move(
        "Hamstring stretch",
        (
            "Put one heel on a low step.",
            "Lean forward gently until the back of the leg stretches.",
            "Hold 10 s (build up to 30 s), then the other leg.",
        ),
        hold_s=10.0,
        sets=2,
        reps=1,
    ),
    MOVES[2]: Move(
        "Glute squeeze",
        ("Tighten your buttocks.", "Hold about 3 s.", "Release.", "3 sets of 10."),
        hold_s=3.0,
        sets=3,
        reps=10,
    ),
    MOVES[3]: Move(
        "Squats",
        (
            "Stand with the chair behind you.",
            "Bend the knees slowly as if to sit.",
            "Rise again, controlled; 12 to 15 times.",
        ),
        sets=1,
        reps=12,
    ),
    MOVES[4]: Move(
        "Leg lifts",
        ("Stand tall, hold the desk.", "Lift one straight leg back.", "10 times each leg."),
        sets=2,
        reps=10,
    ),
    MOVES[5]: Move(
        "Glute bridges",
        (
            "Lie on your back, knees bent.",
            "Lift your hips.",
            "Lower slowly; 10 times.",
        ),
        sets=1,
        reps=10,
    ),
}


def move_of(sentence: str | None) -> dict[str, Any] | None:
    """The steps of a movement sentence; an unknown sentence is one step of its own."""
    if not sentence:
        return None
    found = STEPS.get(sentence)
    return found.as_json() if found else Move("Movement", (sentence,)).as_json()


@dataclass(frozen=True, slots=True)
class PersonalRules:
    """The chair's rules the page follows."""

    limit_s: float = 1800.0
    escalate_after_s: float = 300.0
    snooze_s: float = 600.0
    max_snoozes: int = 3
    strict: bool = False
    pause_s: float = 3600.0
    timezone: str = "UTC"


Standing = Callable[[str, dt.date], dict[str, Any] | None]
"""The break accounting of one desk around one day (``hub.history.accounting`` shapes)."""


class Personal:
    """What the personal routes need: the rules, and the accounting with a short cache."""

    def __init__(
        self, rules: PersonalRules | None = None, standing: Standing | None = None
    ) -> None:
        self.rules = rules or PersonalRules()
        self._standing = standing
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, dict[str, Any] | None]] = {}

    def standing(self, desk: str) -> dict[str, Any] | None:
        """The desk's accounting for today, at most ``STANDING_TTL_S`` old; None without one."""
        if self._standing is None:
            return None
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(desk)
        if hit is not None and now - hit[0] < STANDING_TTL_S:
            return hit[1]
        today = dt.datetime.now(zoneinfo.ZoneInfo(self.rules.timezone)).date()
        try:
            value = self._standing(desk, today)
        except Exception:  # noqa: BLE001 - the page shows its clock even when history is down
            value = None
        with self._lock:
            self._cache[desk] = (now, value)
        return value

    def forget(self, desk: str) -> None:
        """Drop the cached accounting of a desk (after a change the page caused)."""
        with self._lock:
            self._cache.pop(desk, None)


def requested_desk(query: str, own: str | None) -> str | None:
    """The desk a request is about: the person's own, else ``?desk=`` if it is a desk id."""
    if own is not None:
        return own
    wanted = parse_qs(query, max_num_fields=4).get("desk", [""])[0]
    return wanted if DESK_ID.match(wanted) else None


def next_alert_s(desk: Mapping[str, Any], rules: PersonalRules) -> float | None:
    """Seconds until the first alert of a running bout; None when not counting down to one.

    While seated the first alert comes at the limit; while alerting, the next
    level comes ``escalate_after`` later. Snoozed and paused desks wait for a
    time the chair holds, so the page says it is waiting instead of guessing.
    """
    state, seated = desk.get("state"), float(desk.get("seated_s") or 0.0)
    if state == "seated":
        return max(0.0, rules.limit_s - seated)
    if state == "alerting":
        level = max(1, int(desk.get("level") or 1))
        return max(0.0, rules.limit_s + level * rules.escalate_after_s - seated)
    return None


def me_body(desk: Mapping[str, Any], personal: Personal, ts: float) -> dict[str, Any]:
    """The personal page's data for one desk."""
    rules = personal.rules
    snoozes = int(desk.get("snoozes") or 0)
    can_snooze = (
        desk.get("state") == "alerting" and not rules.strict and snoozes < rules.max_snoozes
    )
    why = None
    if rules.strict:
        why = "strict mode: no snoozes"
    elif snoozes >= rules.max_snoozes:
        why = f"all {rules.max_snoozes} snoozes of this bout are used"
    return {
        "ts": ts,
        "desk": dict(desk),
        "next_alert_s": next_alert_s(desk, rules),
        "move": move_of(desk.get("move")),
        "moves": [m.as_json() for m in STEPS.values()],
        "rules": {
            "limit_s": rules.limit_s,
            "escalate_after_s": rules.escalate_after_s,
            "snooze_s": rules.snooze_s,
            "max_snoozes": rules.max_snoozes,
            "strict": rules.strict,
            "pause_s": rules.pause_s,
        },
        "can_snooze": can_snooze,
        "snooze_refused": None if can_snooze else why,
        "breaks": personal.standing(str(desk.get("desk"))),
    }


def _file(name: str) -> bytes | None:
    try:
        return resources.files("hub").joinpath("static", name).read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def _desk_for(handler: Any, query: str) -> str | None:
    """The desk this viewer asks about and may see, or None after a refusal was sent."""
    viewer = handler.viewer if handler.gate.required else None
    desk = requested_desk(
        query, viewer.desk if viewer is not None and viewer.role == "person" else None
    )
    if desk is None:
        handler.reply(HTTPStatus.BAD_REQUEST, {"error": "name the desk: /me?desk=DESK"})
        return None
    return desk


def handle_get(handler: Any, path: str, query: str) -> bool:  # noqa: PLR0911 - one exit per route
    """``/me``, ``/api/me``, ``/sw.js`` and the manifest; False for any other path."""
    if path in ROOT_FILES:
        body = _file(ROOT_FILES[path])
        if body is None:
            return False
        kind = (
            "text/javascript; charset=utf-8"
            if path.endswith(".js")
            else "application/manifest+json"
        )
        handler._reply_bytes(HTTPStatus.OK, body, kind, {"Service-Worker-Allowed": "/"})  # noqa: SLF001 - the handler's own sender
        return True
    if path == "/me":
        page = _file("me.html")
        if page is None:
            handler.reply(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "the page is missing"})
        else:
            handler._reply_bytes(HTTPStatus.OK, page, "text/html; charset=utf-8")  # noqa: SLF001
        return True
    if path != "/api/me":
        return False
    desk = _desk_for(handler, query)
    if desk is None:
        return True
    app = handler.server.app
    frame = app.broadcaster.latest()
    seen = handler.may_see(frame.desks)
    if desk not in seen:
        handler.reply(HTTPStatus.NOT_FOUND, {"error": f"no desk {desk!r}"})
        return True
    now = time.time()
    data = me_body(as_of(seen[desk], now), app.personal, now)
    data["can_pause"] = hasattr(app.source, "pause") and handler.may_pause()
    if handler.session is not None:
        data["csrf"] = handler.session.csrf
    handler.reply(HTTPStatus.OK, data)
    return True


def handle_post(handler: Any, path: str, query: str) -> bool:  # noqa: PLR0911 - one exit per refusal
    """``POST /api/me/pause`` and ``/api/me/snooze`` (after the gate's checks); False otherwise."""
    action = {"/api/me/pause": "pause", "/api/me/snooze": "snooze"}.get(path)
    if action is None:
        return False
    if not handler.gate.required and handler.headers.get("X-Sitless") != "1":
        handler.reply(HTTPStatus.FORBIDDEN, {"error": "missing X-Sitless: 1 header"})
        return True
    desk = _desk_for(handler, query)
    if desk is None:
        return True
    app = handler.server.app
    if desk not in handler.may_see(app.broadcaster.latest().desks):
        handler.reply(HTTPStatus.NOT_FOUND, {"error": f"no desk {desk!r}"})
        return True
    if action == "snooze":
        view = as_of(app.broadcaster.latest().desks[desk], time.time())
        body = me_body(view, app.personal, 0.0)
        if not body["can_snooze"]:
            why = body["snooze_refused"] or "there is no alert to snooze"
            handler.reply(HTTPStatus.CONFLICT, {"error": why})
            return True
    call = getattr(app.source, action, None) if handler.may_pause() else None
    if call is None:
        handler.reply(HTTPStatus.NOT_IMPLEMENTED, {"error": f"this hub cannot {action} desks"})
        return True
    try:
        call(desk)
    except (SitlessError, KeyError, ValueError) as exc:
        handler.reply(HTTPStatus.CONFLICT, {"error": str(exc)})
        return True
    app.broadcaster.poll_once()
    app.personal.forget(desk)
    handler.reply(HTTPStatus.OK, {"desk": desk, action: True})
    return True
