"""Values as people write them: durations such as ``1h30m``, lists from the environment.

A list key set from the environment may be comma-separated
(``SITLESS_NOTIFY__URLS=a,b``) or a TOML array for items that hold commas.

Kept apart from ``hub.config`` so the model stays readable; the config module
uses both and re-exports ``parse_duration``.
"""

from __future__ import annotations

import math
import re
import tomllib
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

_NUMBER = re.compile(r"\s*(\d+(?:\.\d+)?)\s*")
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*")
_UNITS = ("d", "h", "m", "s", "ms")  # largest first, as people write them
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_BAD_DURATION = 'expected a duration like "30m"'


def _duration_text(text: str) -> float | None:
    """Seconds for ``"45"``, ``"90s"``, ``"1h30m"``, ``"1d 2h"``; None when not a duration."""
    if _NUMBER.fullmatch(text):
        return float(text)
    total, pos, rank = 0.0, 0, -1
    while pos < len(text):
        match = _PART.match(text, pos)
        if match is None:
            return None
        unit_rank = _UNITS.index(match.group(2))
        if unit_rank <= rank:  # "30m1h" or "1h1h": each unit once, largest first
            return None
        rank = unit_rank
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    return total if rank >= 0 else None


def parse_duration(value: object) -> float:
    """Turn ``"90s"``, ``"30m"``, ``"1h30m"``, ``"7d"`` or a number of seconds into seconds."""
    if isinstance(value, bool):
        raise ValueError(_BAD_DURATION)  # noqa: TRY004 - pydantic reports ValueError per key
    seconds: float | None
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        seconds = _duration_text(value)
    else:
        seconds = None
    if seconds is None or seconds < 0 or math.isnan(seconds):
        raise ValueError(_BAD_DURATION)
    return seconds


def _options(annotation: Any) -> list[Any]:
    """The types a field accepts: Optional and unions opened, Annotated stripped."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _options(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return [one for arg in get_args(annotation) for one in _options(arg)]
    return [annotation]


def _step(annotation: Any, key: str) -> Any:
    """The annotation one level down (a model's field or a table's values), or None."""
    for option in _options(annotation):
        if isinstance(option, type) and issubclass(option, BaseModel):
            for name, info in option.model_fields.items():
                if key in (name, info.alias):
                    return info.annotation
            return None
        if get_origin(option) is dict:
            return get_args(option)[1]
    return None


def list_kind(model: type[BaseModel], path: list[str]) -> str | None:
    """``"list"`` when the key takes only a list, ``"either"`` when a text or a list, else None."""
    annotation: Any = model
    for key in path:
        annotation = _step(annotation, key)
        if annotation is None:
            return None
    options = _options(annotation)
    if not any(get_origin(option) is list for option in options):
        return None
    return "either" if str in options else "list"


def env_value(raw: str, kind: str | None) -> Any:
    """An environment value for a key: a TOML array as written, or comma-separated for a list."""
    text = raw.strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            return tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            return raw
    if kind == "list" or (kind == "either" and "," in text):
        return [item.strip() for item in text.split(",") if item.strip()]
    return raw
