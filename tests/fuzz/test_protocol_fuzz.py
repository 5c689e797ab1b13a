"""Hostile input against the hub's parser: nothing but ProtocolError may come out.

Real: hub.contract.protocol as the hub runs it. Stood in: nothing; hypothesis makes the input.
"""

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.contract import protocol
from hub.errors import ProtocolError

PREFIXES = ["sitless", "sitless/hq/floor3"]
KINDS = ["status", "occupancy", "telemetry", "button", "info", "ack", "cmd", "sitting", "x"]

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=30,
)

GOOD = {"seated": True, "seq": 1, "boot": "b1", "ts": 1764140000.0, "uptime_ms": 5, "value": 1.0}


def _check(topic: str, payload: bytes):
    try:
        where, msg = protocol.parse(topic, payload, PREFIXES, 4096)
    except ProtocolError as exc:
        reason = str(exc)
        assert reason, "a refusal must say why"
        return None
    assert protocol.DESK_ID.match(where.desk)
    for name in ("ts", "value", "baseline"):
        value = getattr(msg, name, None)
        assert value is None or math.isfinite(value)
    return msg


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(topic=st.text(max_size=80), payload=st.binary(max_size=300))
def test_arbitrary_bytes_never_crash(topic, payload):
    _check(topic, payload)


@settings(max_examples=400, deadline=None)
@given(
    desk=st.from_regex(r"[a-z0-9][a-z0-9_-]{0,10}", fullmatch=True),
    kind=st.sampled_from(KINDS),
    body=json_values,
)
def test_arbitrary_json_never_crashes(desk, kind, body):
    payload = json.dumps(body, allow_nan=True).encode()
    _check(f"sitless/{desk}/{kind}", payload)


@settings(max_examples=300, deadline=None)
@given(key=st.sampled_from(sorted(GOOD)), value=json_values)
def test_one_bad_field_is_refused_or_well_typed(key, value):
    body = dict(GOOD)
    body[key] = value
    msg = _check("sitless/d1/occupancy", json.dumps(body, allow_nan=True).encode())
    if msg is not None:
        assert isinstance(msg.seated, bool)
        assert isinstance(msg.seq, int)
        assert not isinstance(msg.seq, bool)
        assert 0 <= msg.seq <= protocol.MAX_SEQ


def test_deep_json_is_refused():
    deep = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    with pytest.raises(ProtocolError, match=r"deep|JSON"):
        protocol.parse("sitless/d1/occupancy", deep, PREFIXES, 10**7)
