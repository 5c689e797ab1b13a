"""The page's front door: the Host check, who a request comes from, and the sign-in routes.

With no accounts configured the gate is open (the page then only listens on
loopback, which the configuration enforces). With accounts, every page, API
call and event stream needs a session cookie or an ``Authorization: Bearer``
token, except the sign-in page and its static files (and ``/metrics`` and
``/healthz`` when ``metrics = "open"``). Each refusal gets its own status,
is logged with its reason but never with the secret, and is counted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from hub.web.auth import (
    FailureBrake,
    LinkSigner,
    Principal,
    Role,
    Session,
    Sessions,
    cookie,
    read_cookie,
    verify_secret,
)
from hub.web.guard import Counters, host_name

logger = logging.getLogger(__name__)

SESSION_COOKIE = "sitless_session"
LOGIN_COOKIE = "sitless_login"
CSRF_HEADER = "X-CSRF-Token"
NO_ACCOUNTS_NOTICE = "No accounts are configured: this page answers on this machine only."
_MAX_LOGIN_BODY = 4096


@dataclass(frozen=True, slots=True)
class Account:
    """One configured user, with hashes only."""

    name: str
    role: Role
    desk: str | None = None
    password_hash: str | None = None
    token_hash: str | None = None


class Exchange(Protocol):
    """What the gate needs of the request handler."""

    headers: Any
    client_address: Any
    rfile: Any

    def reply(self, status: int, body: object, headers: Mapping[str, str] | None = None) -> None:
        """Send a JSON reply."""


class Refused(Exception):  # noqa: N818 - a refusal, not a program error
    """A request the gate turned down; the handler replies with the status and reason."""

    def __init__(
        self, status: HTTPStatus, why: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(why)
        self.status = status
        self.why = why
        self.headers = dict(headers or {})


class Gate:
    """Decides who a request comes from and what it may do."""

    def __init__(  # noqa: PLR0913 - keyword-only knobs, each from the config
        self,
        accounts: Mapping[str, Account] | None = None,
        *,
        hosts: frozenset[str],
        links: LinkSigner | None = None,
        sessions: Sessions | None = None,
        brake: FailureBrake | None = None,
        counters: Counters | None = None,
        metrics_open: bool = True,
        cookie_secure: bool = False,
    ) -> None:
        self.accounts = dict(accounts or {})
        self.hosts = hosts
        self.links = links
        self.sessions = sessions or Sessions()
        self.brake = brake or FailureBrake()
        self.counters = counters or Counters()
        self.metrics_open = metrics_open or not self.accounts
        self.cookie_secure = cookie_secure
        self._token_cache: dict[bytes, str] = {}
        self._cache_lock = threading.Lock()

    @property
    def required(self) -> bool:
        """Whether anyone must sign in (accounts are configured)."""
        return bool(self.accounts)

    @property
    def notice(self) -> str | None:
        """What the page says about its access, shown to every viewer."""
        return None if self.required else NO_ACCOUNTS_NOTICE

    def fail(self, reason: str, address: str, status: HTTPStatus, why: str) -> Refused:
        """Count, log and build one refusal; the secret itself is never part of ``why``."""
        self.counters.add(f"auth_failures.{reason}")
        if reason in ("password", "token", "link", "session", "csrf"):
            self.brake.failed(address)
        logger.warning("status page refused %s: %s (%s)", address, why, reason)
        return Refused(status, why)

    def check_host(self, header: str | None, address: str) -> None:
        """Refuse a Host header naming none of the configured names."""
        name = host_name(header)
        if name is None or name not in self.hosts:
            raise self.fail("host", address, HTTPStatus.BAD_REQUEST, "unknown Host header")

    def _braked(self, address: str) -> None:
        wait = self.brake.retry_after(address)
        if wait > 0:
            self.counters.add("auth_failures.rate_limited")
            raise Refused(
                HTTPStatus.TOO_MANY_REQUESTS,
                "too many failed attempts from this address; wait and try again",
                {"Retry-After": str(int(wait) + 1)},
            )

    def session(self, headers: Any, address: str) -> tuple[Principal, Session | None] | None:
        """The signed-in viewer and their session (None for a bearer token), or None."""
        auth = headers.get("Authorization")
        if auth:
            return self._bearer(auth, address), None
        sid = read_cookie(headers.get("Cookie"), SESSION_COOKIE)
        if sid is None:
            return None
        found = self.sessions.get(sid)
        if found is None:
            raise self.fail(
                "session", address, HTTPStatus.UNAUTHORIZED, "session expired or unknown; sign in"
            )
        return found.who, found

    def _bearer(self, header: str, address: str) -> Principal:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise self.fail("token", address, HTTPStatus.UNAUTHORIZED, "expected a Bearer token")
        token = token.strip()
        key = hashlib.sha256(token.encode()).digest()
        with self._cache_lock:
            name = self._token_cache.get(key)
        if name is None:
            self._braked(address)
            for account in self.accounts.values():
                if account.token_hash and verify_secret(token, account.token_hash):
                    name = account.name
                    with self._cache_lock:
                        self._token_cache[key] = name
                    break
        if name is None or name not in self.accounts:
            raise self.fail("token", address, HTTPStatus.UNAUTHORIZED, "unknown API token")
        account = self.accounts[name]
        return Principal(account.name, account.role, account.desk)

    def check_csrf(self, headers: Any, session: Session | None, address: str) -> None:
        """A cookie session's POST must carry its CSRF token; bearer and open mode need none."""
        if session is None:
            return
        if headers.get(CSRF_HEADER) != session.csrf:
            raise self.fail("csrf", address, HTTPStatus.FORBIDDEN, "missing or wrong CSRF token")

    def login_token(self) -> tuple[str, str]:
        """A fresh login CSRF token and the cookie that carries it."""
        token = secrets.token_urlsafe(32)
        return token, cookie(LOGIN_COOKIE, token, max_age=600, secure=self.cookie_secure)

    def login(self, ex: Exchange, address: str) -> None:
        """POST /login: a JSON body with user and password, the login CSRF token in a header."""
        self._braked(address)
        expected = read_cookie(ex.headers.get("Cookie"), LOGIN_COOKIE)
        if not expected or ex.headers.get(CSRF_HEADER) != expected:
            raise self.fail("csrf", address, HTTPStatus.FORBIDDEN, "missing or wrong CSRF token")
        body = _json_body(ex)
        name, password = body.get("user"), body.get("password")
        if not isinstance(name, str) or not isinstance(password, str):
            raise Refused(HTTPStatus.BAD_REQUEST, 'expected {"user": ..., "password": ...}')
        account = self.accounts.get(name)
        known = account is not None and account.password_hash is not None
        if not (known and account and verify_secret(password, account.password_hash or "")):
            raise self.fail("password", address, HTTPStatus.UNAUTHORIZED, "wrong user or password")
        self._start(ex, Principal(account.name, account.role, account.desk))

    def link(self, ex: Exchange, query: str, address: str) -> None:
        """GET /link?desk=D&t=TOKEN: a person's link signs them in for that one desk."""
        if self.links is None:
            raise Refused(HTTPStatus.NOT_FOUND, "desk links are turned off")
        self._braked(address)
        args = parse_qs(query, max_num_fields=4)
        desk, token = args.get("desk", [""])[0], args.get("t", [""])[0]
        if not desk or not token or not self.links.valid(desk, token):
            raise self.fail(
                "link", address, HTTPStatus.FORBIDDEN, "this link is not valid for that desk"
            )
        self._start(ex, Principal(f"link:{desk}", "person", desk), redirect=True)

    def logout(self, ex: Exchange) -> None:
        """POST /logout: end the session and clear the cookie."""
        self.sessions.end(read_cookie(ex.headers.get("Cookie"), SESSION_COOKIE))
        clear = cookie(SESSION_COOKIE, "", max_age=0, secure=self.cookie_secure)
        ex.reply(HTTPStatus.OK, {"signed_out": True}, {"Set-Cookie": clear})

    def _start(self, ex: Exchange, who: Principal, *, redirect: bool = False) -> None:
        sid, session = self.sessions.create(who)
        max_age = int(self.sessions.lifetime_s)
        headers = {
            "Set-Cookie": cookie(SESSION_COOKIE, sid, max_age=max_age, secure=self.cookie_secure)
        }
        self.counters.add(f"logins.{who.role}")
        logger.info("status page: %s signed in as %s", who.name, who.role)
        if redirect:
            ex.reply(HTTPStatus.SEE_OTHER, {"signed_in": who.name}, {**headers, "Location": "/"})
        else:
            body = {"user": who.name, "role": who.role, "desk": who.desk, "csrf": session.csrf}
            ex.reply(HTTPStatus.OK, body, headers)


def _json_body(ex: Exchange) -> dict[str, Any]:
    try:
        length = int(ex.headers.get("Content-Length") or 0)
    except ValueError:
        length = -1
    if not 0 < length <= _MAX_LOGIN_BODY:
        raise Refused(HTTPStatus.BAD_REQUEST, "a sign-in body of up to 4 KB is required")
    try:
        body = json.loads(ex.rfile.read(length))
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refused(HTTPStatus.BAD_REQUEST, "the sign-in body is not JSON") from exc
    if not isinstance(body, dict):
        raise Refused(HTTPStatus.BAD_REQUEST, 'expected {"user": ..., "password": ...}')
    return body


def split_path(raw: str) -> tuple[str, str]:
    """Path and query of a request target."""
    parts = urlsplit(raw)
    return parts.path, parts.query
