"""The hub's whole configuration: one validated model, loaded from TOML and the environment.

The sections (``[mqtt]``, ``[sitting]``, ``[history]`` ...) are models of their
own in ``hub.config.sections``; this module puts them together and loads them.
Every section forbids unknown keys, so a typo is an error that names the key
rather than a default silently used. Any key can also come from an environment
variable such as ``SITLESS_SITTING__LIMIT=45m`` (double underscore between
levels), so a container needs no file. Secrets can be read from files
(``password_file``) for Docker secrets, and are kept as ``SecretStr`` so they
never print.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Self

from pydantic import Field, ValidationError, field_validator, model_validator

from hub.access import StatusConfig, UserConfig, check_exposure, check_user_names
from hub.config.sections import (
    DeskConfig,
    HistoryConfig,
    HomeAssistantConfig,
    LimitsConfig,
    LogConfig,
    MqttConfig,
    NotifyConfig,
    ScheduleConfig,
    Section,
    SittingConfig,
    TareConfig,
    check_prefix,
)
from hub.contract.vocabulary import DESK_ID
from hub.envvalues import env_value, list_kind, parse_duration
from hub.errors import ConfigError
from hub.places import check_folder, default_state_dir

# The sections and helpers config users take from here, whichever module holds them.
__all__ = [
    "DESK_ID",
    "ENV_PREFIX",
    "DeskConfig",
    "HistoryConfig",
    "HomeAssistantConfig",
    "HubConfig",
    "LimitsConfig",
    "LogConfig",
    "MqttConfig",
    "NotifyConfig",
    "ScheduleConfig",
    "Section",
    "SittingConfig",
    "TareConfig",
    "check_prefix",
    "describe_errors",
    "from_mapping",
    "load",
    "parse_duration",
]

ENV_PREFIX = "SITLESS_"
# SITLESS_ names that are not settings: the config file's path, and the folder the
# project's own setup scripts cache their installs in (so a developer's shell may keep it).
NOT_SETTINGS = frozenset({f"{ENV_PREFIX}CONFIG", f"{ENV_PREFIX}CACHE"})


class HubConfig(Section):
    """The whole hub configuration."""

    mqtt: MqttConfig = Field(default_factory=MqttConfig)
    sitting: SittingConfig = Field(default_factory=SittingConfig)
    schedule: ScheduleConfig | None = None
    history: HistoryConfig = Field(default_factory=HistoryConfig)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    status: StatusConfig = Field(default_factory=StatusConfig)
    users: dict[str, UserConfig] = Field(default_factory=dict, description="page accounts")
    homeassistant: HomeAssistantConfig = Field(default_factory=HomeAssistantConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    tare: TareConfig = Field(default_factory=TareConfig)
    log: LogConfig = Field(default_factory=LogConfig)
    state_dir: str = Field(
        default_factory=lambda: str(default_state_dir()),
        description="folder for the checkpoint and spool files",
    )
    desks: dict[str, DeskConfig] = Field(default_factory=dict)
    sites: dict[str, ScheduleConfig] = Field(default_factory=dict, description="schedule per site")

    @field_validator("users")
    @classmethod
    def _check_users(cls, value: dict[str, UserConfig]) -> dict[str, UserConfig]:
        return check_user_names(value)

    @model_validator(mode="after")
    def _check_page_exposure(self) -> Self:
        check_exposure(self.status, self.users)
        return self

    @field_validator("state_dir")
    @classmethod
    def _check_state_dir(cls, value: str) -> str:
        return check_folder(value)

    @field_validator("desks")
    @classmethod
    def _check_desk_ids(cls, value: dict[str, DeskConfig]) -> dict[str, DeskConfig]:
        for desk in value:
            if not DESK_ID.match(desk):
                raise ValueError(f"desk id {desk!r} must match {DESK_ID.pattern}")
        return value

    def desk(self, desk_id: str) -> DeskConfig:
        """The desk's own section, or the defaults."""
        return self.desks.get(desk_id) or DeskConfig()

    def state_path(self, name: str) -> Path:
        """A file under state_dir, unless name is already absolute."""
        path = Path(name)
        return path if path.is_absolute() else Path(self.state_dir) / path


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX) or key in NOT_SETTINGS:
            continue
        path = [part.lower() for part in key[len(ENV_PREFIX) :].split("__") if part]
        if not path:
            continue
        node = tree
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            # Lists may be written comma-separated (a TOML array for items with commas).
            node[path[-1]] = env_value(value, list_kind(HubConfig, path))
    return tree


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def describe_errors(exc: ValidationError) -> list[str]:
    """One line per problem: the dotted key, then what is wrong."""
    lines = []
    for err in exc.errors(include_url=False, include_input=False):
        key = ".".join(str(part) for part in err["loc"]) or "(top level)"
        text = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            text = "unknown key"
        lines.append(f"{key}: {text}")
    return lines


def from_mapping(data: dict[str, Any]) -> HubConfig:
    """Validate a plain mapping, raising ConfigError with one line per problem."""
    try:
        return HubConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_errors(exc)) from exc


def load(path: str | Path | None = None, environ: dict[str, str] | None = None) -> HubConfig:
    """Read the TOML file (if any), lay environment overrides over it, and validate."""
    env = dict(os.environ if environ is None else environ)
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text())
        except FileNotFoundError as exc:
            raise ConfigError([f"{path}: no such file"]) from exc
        except OSError as exc:
            raise ConfigError([f"{path}: cannot read ({exc.strerror})"]) from exc
        except UnicodeDecodeError as exc:
            problem = f"byte {exc.object[exc.start]:#04x} at position {exc.start}"
            raise ConfigError([f"{path}: not UTF-8 text ({problem}); save it as UTF-8"]) from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError([f"{path}: not valid TOML ({exc})"]) from exc
    return from_mapping(_merge(data, _env_overrides(env)))
