"""The hub's parser against the shared vectors and the JSON Schemas. Pure code, nothing stood in."""

import json
from pathlib import Path

import jsonschema
import pytest

from hub.contract import protocol
from hub.errors import ProtocolError

SCHEMAS = Path(__file__).resolve().parents[2] / "hub" / "schemas"
DEVICE_KINDS = ["occupancy", "telemetry", "button", "info", "ack"]


def schema(kind):
    return json.loads((SCHEMAS / f"{kind}.json").read_text())


def raw(case):
    return case["raw"].encode() if "raw" in case else json.dumps(case["payload"]).encode()


@pytest.mark.parametrize("kind", DEVICE_KINDS)
def test_valid_vectors_parse_and_match_schema(vectors, kind):
    for payload in vectors[kind]["valid"]:
        jsonschema.validate(payload, schema(kind))
        msg = protocol.parse_payload("d1", kind, json.dumps(payload).encode())
        assert msg.desk == "d1"


@pytest.mark.parametrize("kind", DEVICE_KINDS)
def test_invalid_vectors_are_refused_by_both(vectors, kind):
    for case in vectors[kind]["invalid"]:
        with pytest.raises(ProtocolError):
            protocol.parse_payload("d1", kind, raw(case))
        if "payload" in case:
            with pytest.raises(jsonschema.ValidationError):
                jsonschema.validate(case["payload"], schema(kind))


def test_status_vectors(vectors):
    for text in vectors["status"]["valid"]:
        assert protocol.parse_payload("d1", "status", text.encode()).online == (text == "online")
    for case in vectors["status"]["invalid"]:
        with pytest.raises(ProtocolError):
            protocol.parse_payload("d1", "status", case["payload"].encode())


def test_hub_payloads_match_their_schemas(vectors):
    for payload in vectors["cmd"]["valid"]:
        jsonschema.validate(payload, schema("cmd"))
        fields = {k: v for k, v in payload.items() if k not in ("id", "action")}
        built = json.loads(protocol.command(payload["action"], payload["id"], **fields))
        assert built == payload
    for case in vectors["cmd"]["invalid"]:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(case["payload"], schema("cmd"))
    body = json.loads(protocol.sitting_state("alerting", 1805.7, 1, 1764138200.0, 1764140005.0))
    jsonschema.validate(body, schema("sitting"))
    assert body["seated_s"] == 1805


def test_topic_vectors(vectors):
    prefixes = ["sitless/hq/floor3", "sitless"]
    for case in vectors["topics"]["valid"]:
        where = protocol.split_topic(case["topic"], prefixes)
        expected = (case["prefix"], case["desk"], case["kind"])
        assert (where.prefix, where.desk, where.kind) == expected
    for case in vectors["topics"]["invalid"]:
        with pytest.raises(ProtocolError):
            protocol.split_topic(case["topic"], prefixes)


@pytest.mark.parametrize(
    "payload",
    [
        b"\xff\xfe",
        b"[" * 10000,
        b'{"a":' * 20 + b"1" + b"}" * 20,
        b"NaN",
        b'{"seated": true, "seq": 1e400}',
        b'{"seq": ' + b"9" * 5000 + b"}",
    ],
)
def test_hostile_payloads_raise_protocol_error(payload):
    with pytest.raises(ProtocolError):
        protocol.parse_payload("d1", "occupancy", payload)


def test_oversized_payload_and_hub_level():
    with pytest.raises(ProtocolError, match="exceeds"):
        protocol.parse("sitless/d1/occupancy", b"{" + b" " * 5000 + b"}", ["sitless"], 4096)
    with pytest.raises(ProtocolError, match="_hub"):
        protocol.parse("sitless/_hub/status", b"online", ["sitless"])


def test_request_vectors_parse_or_are_refused_and_match_the_schema(vectors):
    """Home Assistant's buttons ask the hub on P/D/request; pure code, nothing stood in."""
    for payload in vectors["request"]["valid"]:
        jsonschema.validate(payload, schema("request"))
        request = protocol.parse_request("d1", json.dumps(payload).encode())
        assert (request.desk, request.id) == ("d1", payload["id"])
        assert request.action == payload["action"]
    for case in vectors["request"]["invalid"]:
        with pytest.raises(ProtocolError):
            protocol.parse_request("d1", raw(case))
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(case["payload"], schema("request"))


def test_telemetry_keeps_the_reported_drift(vectors):
    """The sitless firmware's `drift` reaches the hub; a chair without it reads None."""
    body = dict(vectors["telemetry"]["valid"][0])
    body.pop("drift", None)
    assert protocol.parse_payload("d1", "telemetry", json.dumps(body).encode()).drift is None
    body["drift"] = -2500.5
    assert protocol.parse_payload("d1", "telemetry", json.dumps(body).encode()).drift == -2500.5
    body["drift"] = "far"
    with pytest.raises(ProtocolError, match="drift"):
        protocol.parse_payload("d1", "telemetry", json.dumps(body).encode())
