"""Who may reach the status page: the ``[status]`` and ``[users.NAME]`` sections of the config.

Kept apart from ``hub.config`` so the page's access rules read in one place;
``hub.config`` embeds these models in the whole configuration. Secrets are
only ever hashes (``password_hash``, ``token_hash``), and each can come from a
file (``password_hash_file``, ``token_hash_file``) for Docker secrets.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, model_validator

from hub.web.auth import check_hash_format
from hub.web.guard import is_loopback

_USER_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,47}\Z")
_DESK = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}\Z")


def _seconds(value: object) -> float:
    # hub.config owns the duration syntax and imports this module, so look it up at call time.
    from hub.config import parse_duration  # noqa: PLC0415 - import cycle otherwise

    return parse_duration(value)


Seconds = Annotated[float, BeforeValidator(_seconds)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _hash_from(value: SecretStr | None, path: str | None, key: str) -> SecretStr | None:
    if path:
        try:
            value = SecretStr(Path(path).read_text().strip())
        except OSError as exc:
            msg = f"{key}_file: cannot read secret file {path!r} ({exc.strerror})"
            raise ValueError(msg) from exc
    if value is not None:
        try:
            check_hash_format(value.get_secret_value())
        except ValueError as exc:
            raise ValueError(f"{key}: {exc}") from None
    return value


class UserConfig(_Section):
    """One account: its role, and for a person the one desk they may see."""

    role: Literal["admin", "facilities", "person"]
    desk: str | None = Field(None, description="the person's own desk (person only)")
    password_hash: SecretStr | None = None
    password_hash_file: str | None = None
    token_hash: SecretStr | None = Field(None, description="for Authorization: Bearer")
    token_hash_file: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        password = _hash_from(self.password_hash, self.password_hash_file, "password_hash")
        token = _hash_from(self.token_hash, self.token_hash_file, "token_hash")
        object.__setattr__(self, "password_hash", password)
        object.__setattr__(self, "token_hash", token)
        if password is None and token is None:
            raise ValueError("a user needs password_hash or token_hash (or their _file forms)")
        if self.role == "person" and not (self.desk and _DESK.match(self.desk)):
            raise ValueError('role = "person" needs desk = "<the person\'s desk id>"')
        if self.role != "person" and self.desk is not None:
            raise ValueError('desk is only for role = "person"')
        return self


class StatusConfig(_Section):
    """The live status page and metrics endpoint, and who may reach them."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    hosts: list[str] = Field(
        default_factory=list, description="Host header names the page answers to, besides loopback"
    )
    public_url: str | None = Field(None, description="base URL printed in desk links")
    max_connections: int = Field(64, ge=4, le=10_000)
    idle_timeout: Seconds = Field(10.0, gt=0, le=3600)
    metrics: Literal["open", "login"] = Field(
        "login", description='"open": /metrics and /healthz need no login (for a scraper)'
    )
    desk_links: bool = Field(True, description="allow per-desk links for persons")
    session_lifetime: Seconds = Field(12 * 3600.0, ge=60)
    cookie_secure: bool = Field(False, description="mark cookies Secure (page served over TLS)")
    login_burst: int = Field(5, ge=1, le=1000, description="failures per address per minute")

    @model_validator(mode="after")
    def _check_public_url(self) -> Self:
        if self.public_url and not re.match(r"^https?://[^/\s]+(/\S*)?\Z", self.public_url):
            raise ValueError('public_url must look like "https://sitless.example.org/"')
        return self


def check_exposure(status: StatusConfig, users: dict[str, UserConfig]) -> None:
    """Refuse a page reachable from other machines while nobody has to sign in."""
    if not status.enabled or users or is_loopback(status.host):
        return
    msg = (
        f"status.host = {status.host!r} would publish the status page without a login: "
        "configure [users.NAME] accounts, or keep status.host on 127.0.0.1"
    )
    raise ValueError(msg)


def check_user_names(users: dict[str, UserConfig]) -> dict[str, UserConfig]:
    """User names are short plain words."""
    for name in users:
        if not _USER_NAME.match(name):
            raise ValueError(f"user name {name!r} must match {_USER_NAME.pattern}")
    return users
