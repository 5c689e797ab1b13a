"""Who is asking: hashed secrets, signed desk links, cookie sessions, CSRF, a brute-force brake.

Passwords and API tokens are stored as scrypt hashes (``hashlib.scrypt``, from
OpenSSL), never in clear. A person's per-desk link carries an HMAC of the desk
id under a key kept in the state folder, so a link names exactly one desk and
cannot be altered to name another. A login, by password or by link, gives a
random session id in an ``HttpOnly``, ``SameSite=Strict`` cookie; every POST
must also carry the session's CSRF token in a header. Failures are counted per
reason and slow down an address that keeps failing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

Role = Literal["admin", "facilities", "person"]
ROLES: Final = ("admin", "facilities", "person")

_SCRYPT_LOG_N: Final = 14
_SCRYPT_R: Final = 8
_SCRYPT_P: Final = 1
_KEY_BYTES: Final = 32
_LINK_KEY_NAME: Final = "web-link.key"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_secret(secret: str, *, log_n: int = _SCRYPT_LOG_N) -> str:
    """An scrypt hash of a password or token, as ``scrypt$logN$r$p$salt$hash``."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(
        secret.encode(), salt=salt, n=1 << log_n, r=_SCRYPT_R, p=_SCRYPT_P, dklen=_KEY_BYTES
    )
    return f"scrypt${log_n}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def check_hash_format(encoded: str) -> str:
    """The hash if it is one that ``verify_secret`` understands, else ValueError saying why."""
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise ValueError('expected an scrypt hash "scrypt$..." as printed by `sitless user hash`')
    try:
        log_n, r, p = (int(x) for x in parts[1:4])
        salt, digest = _unb64(parts[4]), _unb64(parts[5])
    except ValueError as exc:
        raise ValueError("the scrypt hash is damaged (bad number or base64)") from exc
    if not (10 <= log_n <= 20 and 1 <= r <= 32 and 1 <= p <= 16) or len(salt) < 8 or not digest:
        raise ValueError("the scrypt hash has parameters out of range")
    return encoded


def verify_secret(secret: str, encoded: str) -> bool:
    """Whether the secret matches the hash; constant time in the comparison."""
    try:
        check_hash_format(encoded)
    except ValueError:
        return False
    _, log_n, r, p, salt, digest = encoded.split("$")
    want = _unb64(digest)
    got = hashlib.scrypt(
        secret.encode(),
        salt=_unb64(salt),
        n=1 << int(log_n),
        r=int(r),
        p=int(p),
        maxmem=256 << 20,
        dklen=len(want),
    )
    return hmac.compare_digest(got, want)


@dataclass(frozen=True, slots=True)
class Principal:
    """Someone the page knows: a configured user, or a person who came by a desk link."""

    name: str
    role: Role
    desk: str | None = None

    def may_see_desk(self, desk: str) -> bool:
        """Admins see every desk, a person only their own, facilities none."""
        return self.role == "admin" or (self.role == "person" and self.desk == desk)


def link_key(path: Path) -> bytes:
    """The key that signs desk links, made on first use (mode 0600) and kept across restarts."""
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(_KEY_BYTES)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, key)
        finally:
            os.close(fd)
    if len(key) < 16:
        msg = f"the desk link key {path} is too short; delete it to make a new one"
        raise ValueError(msg)
    return key


def link_key_path(state_dir: Path) -> Path:
    """Where the link key lives in a state folder."""
    return state_dir / _LINK_KEY_NAME


class LinkSigner:
    """Makes and checks the secret token of a person's per-desk link."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def token(self, desk: str) -> str:
        """The link token for one desk (the same for as long as the key is kept)."""
        mac = hmac.new(self._key, f"desk-link\0{desk}".encode(), hashlib.sha256).digest()
        return _b64(mac[:24])

    def valid(self, desk: str, token: str) -> bool:
        """Whether the token was made for exactly this desk."""
        return hmac.compare_digest(self.token(desk).encode(), token.encode()[:64])


@dataclass(slots=True)
class Session:
    """One signed-in browser."""

    who: Principal
    csrf: str
    expires: float


@dataclass(slots=True)
class Sessions:
    """Sessions in memory (a hub restart signs everyone out), bounded in number and lifetime."""

    lifetime_s: float = 12 * 3600.0
    max_sessions: int = 10_000
    _by_id: dict[str, Session] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self, who: Principal, now: float | None = None) -> tuple[str, Session]:
        """A new session id and its session; the oldest goes when the store is full."""
        now = time.time() if now is None else now
        sid = secrets.token_urlsafe(32)
        session = Session(who, secrets.token_urlsafe(24), now + self.lifetime_s)
        with self._lock:
            self._drop_expired(now)
            while len(self._by_id) >= self.max_sessions:
                self._by_id.pop(next(iter(self._by_id)))
            self._by_id[sid] = session
        return sid, session

    def get(self, sid: str | None, now: float | None = None) -> Session | None:
        """The live session for an id, or None (unknown, forged or expired)."""
        if not sid:
            return None
        now = time.time() if now is None else now
        with self._lock:
            session = self._by_id.get(sid)
            if session is not None and session.expires <= now:
                del self._by_id[sid]
                return None
            return session

    def end(self, sid: str | None) -> None:
        """Sign out."""
        with self._lock:
            self._by_id.pop(sid or "", None)

    def _drop_expired(self, now: float) -> None:
        for sid in [k for k, v in self._by_id.items() if v.expires <= now]:
            del self._by_id[sid]


class FailureBrake:
    """Slows a failing address: after ``burst`` failures in ``window_s`` it must wait."""

    def __init__(self, burst: int = 5, window_s: float = 60.0, max_addresses: int = 10_000) -> None:
        self.burst = burst
        self.window_s = window_s
        self.max_addresses = max_addresses
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, address: str, now: float | None = None) -> float:
        """Seconds this address must wait before it may try again (0 when it may now)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            times = self._seen.get(address)
            if times is None:
                return 0.0
            while times and times[0] <= now - self.window_s:
                times.popleft()
            if len(times) < self.burst:
                return 0.0
            return max(0.0, times[0] + self.window_s - now)

    def failed(self, address: str, now: float | None = None) -> None:
        """Note one failure from an address."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if address not in self._seen and len(self._seen) >= self.max_addresses:
                self._seen.pop(next(iter(self._seen)))
            times = self._seen.setdefault(address, deque(maxlen=self.burst))
            times.append(now)


def cookie(name: str, value: str, *, max_age: int, secure: bool) -> str:
    """A Set-Cookie value the page's scripts cannot read and other sites cannot send."""
    flags = f"{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict"
    return flags + ("; Secure" if secure else "")


def read_cookie(header: str | None, name: str) -> str | None:
    """One cookie's value from a Cookie header."""
    for part in (header or "").split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value
    return None
