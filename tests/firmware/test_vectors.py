"""The firmware against the shared vectors in tests/vectors, under the real MicroPython unix port.

Real: MicroPython running the firmware's payload and command modules; the
hub's own parser (hub.contract.protocol) and the JSON Schemas judging what the firmware
encodes. Nothing is stood in.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from hub.contract import protocol
from tests.support.upython import run_micropython

MP = Path(__file__).resolve().parent / "mp"
VECTORS = Path(__file__).resolve().parents[1] / "vectors"
SCHEMAS = Path(__file__).resolve().parents[2] / "hub" / "schemas"


@pytest.fixture(scope="module")
def lines():
    result = run_micropython(MP / "vectors.py", str(VECTORS), timeout=60)
    assert result.returncode == 0, result.stderr
    out: dict[str, list[dict]] = {"ENC": [], "CMD": []}
    for line in result.stdout.splitlines():
        tag, _, body = line.partition(" ")
        if tag in out:
            out[tag].append(json.loads(body))
    return out


def test_encoded_payloads_equal_the_valid_vectors_and_pass_the_hub(lines, vectors):
    """Real MicroPython encoder, real hub parser and schemas."""
    assert len(lines["ENC"]) == sum(len(vectors[k]["valid"]) for k in
                                    ("occupancy", "button", "telemetry", "info", "ack"))
    for case in lines["ENC"]:
        kind = case["kind"]
        body = case["payload"].encode()
        protocol.parse_payload("d1", kind, body)
        jsonschema.validate(json.loads(body), json.loads((SCHEMAS / f"{kind}.json").read_text()))
        expected = dict(vectors[kind]["valid"][case["index"]])
        got = json.loads(body)
        expected.pop("extra_field", None)
        if kind == "telemetry":
            expected.pop("fw")  # the firmware states its own version
            got.pop("fw")
        if kind == "info":
            expected.pop("fw")
            got.pop("fw")
            got.pop("config_version")
        assert got == expected, kind


def test_command_vectors_are_run_refused_or_dropped_as_the_contract_says(lines, vectors):
    """Real MicroPython command checks; the hub parser judges the refusal acks."""
    results = {(c["group"], c["index"]): c for c in lines["CMD"]}
    for index, _case in enumerate(vectors["cmd"]["valid"]):
        assert results[("valid", index)]["outcome"] == "run"
    for index, case in enumerate(vectors["cmd"]["invalid"]):
        result = results[("invalid", index)]
        if "id" not in case["payload"]:
            assert result["outcome"] == "dropped", case["why"]
            continue
        assert result["outcome"] == "refused", case["why"]
        ack = protocol.parse_payload("d1", "ack", result["ack"].encode())
        assert ack.ok is False
        assert ack.id == case["payload"]["id"]
    unknown = next(r for r in lines["CMD"] if r["ack"] and "selfdestruct" not in r["ack"]
                   and "unknown action" in r["ack"])
    assert json.loads(unknown["ack"])["error"] == "unknown action"
