"""Hostile commands and config changes against the firmware, under the real MicroPython.

Real: the MicroPython unix port running the firmware's own command checker
and config validator, called as the app calls them. Stood in: the MQTT link
(cases are read from a file, results printed). The cases are made here in
CPython by a seeded random generator, run in one MicroPython batch, and each
result is judged against docs/protocol.md and docs/serial.md.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from tests.support.upython import run_micropython

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).with_name("mp_command_fuzz.py")
ACTIONS = ("alert", "clear", "identify", "tare", "config", "reboot")
BASE = {"desk": "desk-1", "wifi_ssid": "office", "wifi_password": "pw", "mqtt_host": "broker"}
# From the key table in docs/serial.md: keys whose valid values do not depend on other keys.
INT_KEYS = {
    "seated_ms": (0, 600_000),
    "vacant_ms": (0, 600_000),
    "limit_s": (1, 86_400),
    "min_break_s": (1, 86_400),
    "telemetry_s": (1, 86_400),
    "sample_ms": (10, 10_000),
    "mqtt_port": (1, 65535),
}
NULLABLE_PINS = ("buzzer_pin", "led_pin", "button_pin", "motor_pin", "safe_pin")
TEXT_KEYS = ("wifi_ssid", "mqtt_host", "prefix", "desk")
WEIRD = [
    None,
    True,
    False,
    "5",
    "",
    "x" * 300,
    1.5,
    float("nan"),
    float("inf"),
    10**30,
    -(10**30),
    -1,
    [],
    [1],
    {},
    {"a": {"b": {}}},
]


def command_case(rng: random.Random) -> tuple[dict[str, Any], str]:  # noqa: C901 - one branch per kind of damage reads best flat
    """One command and what the contract says must become of it: ok, refused or ignored."""
    shape = rng.choice(
        [
            "good",
            "good",
            "alert",
            "config",
            "id",
            "action",
            "junk",
            "utf8",
            "deep",
            "retained",
            "top",
        ]
    )
    cmd: dict[str, Any] = {"id": f"h-{rng.randrange(10**6)}", "action": rng.choice(ACTIONS)}
    if cmd["action"] == "alert":
        cmd["level"] = rng.choice([1, 2, 3])
        if rng.random() < 0.5:
            cmd["move"] = "squats"
    if cmd["action"] == "config":
        key, (lo, hi) = rng.choice(sorted(INT_KEYS.items()))
        cmd["set"] = {key: rng.randint(lo, hi)}
    expect, retained, raw = "ok", False, None
    if shape == "alert":
        cmd |= {"action": "alert", "level": rng.choice([0, 4, -1, True, "2", 2.5, None, 10**40])}
        expect = "refused"
    elif shape == "config":
        cmd |= {"action": "config", "set": rng.choice([None, [], "seated_ms=1", 5, True])}
        expect = "refused"
    elif shape == "id":
        cmd["id"] = rng.choice([None, "", "x" * 65, 7, True, [], {}])
        expect = "ignored"
    elif shape == "action":
        cmd["action"] = rng.choice(["ALERT", "", None, 1, "format", "alert "])
        expect = "refused"
    elif shape == "junk":
        raw = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
        expect = "ignored"
    elif shape == "utf8":
        raw = json.dumps(cmd).encode()[:-1] + b', "x": "\xff\xfe"}'
        expect = "not ok"
    elif shape == "deep":
        depth = rng.choice([50, 500, 5000])
        raw = b'{"id": "h-1", "action": "clear", "x": ' + b"[" * depth + b"]" * depth + b"}"
        expect = "any"
    elif shape == "retained":
        retained, expect = True, "ignored"
    elif shape == "top":
        raw = rng.choice([b"[]", b"null", b"7", b'"alert"', b"{", b""])
        expect = "ignored"
    payload = raw if raw is not None else json.dumps(cmd).encode()
    return {"hex": payload.hex(), "retained": retained}, expect


def config_case(rng: random.Random) -> tuple[dict[str, Any], str, str | None]:
    """A config command whose ``set`` is wrong in one key, or right; and the key to blame."""
    shape = rng.choice(["good", "int", "pin", "text", "unknown", "weird"])
    changes: dict[str, Any]
    blame: str | None
    if shape == "good":
        key, (lo, hi) = rng.choice(sorted(INT_KEYS.items()))
        changes, blame, expect = {key: rng.choice([lo, hi, rng.randint(lo, hi)])}, None, "ok"
    elif shape == "int":
        key, (lo, hi) = rng.choice(sorted(INT_KEYS.items()))
        bad = rng.choice([lo - 1, hi + 1, str(lo), float(lo) + 0.5, True, None, [], 10**30])
        changes, blame, expect = {key: bad}, key, "refused"
    elif shape == "pin":
        key = rng.choice(NULLABLE_PINS)
        changes, blame, expect = {key: rng.choice([-1, 49, "2", 2.0, True, []])}, key, "refused"
    elif shape == "text":
        key = rng.choice(TEXT_KEYS)
        changes, blame, expect = {key: rng.choice([5, True, [], {}, "", "x" * 300])}, key, "refused"
    elif shape == "unknown":
        key = rng.choice(["evil", "__class__", "desk ", "Desk", "mqtt_port\x00"])
        changes, blame, expect = {key: 1}, key, "refused"
    else:
        key = rng.choice(sorted(INT_KEYS))
        changes, blame, expect = {key: rng.choice(WEIRD)}, None, "any"
    cmd = {"id": f"c-{rng.randrange(10**6)}", "action": "config", "set": changes}
    return {"hex": json.dumps(cmd, allow_nan=True).encode().hex(), "retained": False}, expect, blame


def test_hostile_commands_and_config_changes_are_refused_and_nothing_escapes(tmp_path):
    rng = random.Random(20261126)  # noqa: S311 - test data, seeded to repeat
    cases: list[dict[str, Any]] = []
    expected: list[tuple[str, str | None]] = []
    for _ in range(600):
        case, expect = command_case(rng)
        cases.append(case)
        expected.append((expect, None))
    for _ in range(600):
        case, expect, blame = config_case(rng)
        cases.append(case)
        expected.append((expect, blame))
    batch = tmp_path / "cases.json"
    batch.write_text(json.dumps({"base": BASE, "cases": cases}))
    result = run_micropython(SCRIPT, str(batch), timeout=180)
    lines = result.stdout.splitlines()
    assert lines, result.stderr[-2000:]
    assert lines[-1] == "DONE", (result.stdout[-2000:], result.stderr[-2000:])
    outcomes = [json.loads(line) for line in lines[:-1]]
    assert len(outcomes) == len(cases)
    tally: dict[str, int] = {}
    for case, (expect, blame), got in zip(cases, expected, outcomes, strict=True):
        where = (bytes.fromhex(case["hex"])[:200], got)
        assert "escaped" not in got, where
        tally[got["result"]] = tally.get(got["result"], 0) + 1
        if expect == "ok":
            assert got["result"] == "ok", where
        elif expect == "not ok":
            assert got["result"] != "ok", where
        elif expect != "any":
            assert got["result"] == expect, where
            assert got["why"], where
        if blame is not None:
            assert blame.strip("\x00") in got["why"], where
        if got["result"] == "ok" and got.get("action") == "config":
            changes = json.loads(bytes.fromhex(case["hex"]))["set"]
            assert all(got["cfg"][k] == v for k, v in changes.items()), where
    # The generator reached every outcome, so the judgement above was exercised.
    assert min(tally.get(k, 0) for k in ("ok", "refused", "ignored")) >= 50, tally
