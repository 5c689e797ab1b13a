"""The hub's MQTT packets, byte for byte against the layouts of MQTT 5 and 3.1.1.

Real: hub.mqtt.packets and hub.mqtt.replies, pure functions. Stood in: nothing; the expected
bytes are written out from the specification's field layouts (the transport
tests check the same packets against a real mosquitto).
"""

from __future__ import annotations

import pytest

from hub.mqtt import packets as mp
from hub.mqtt import replies as mr

WILL = mp.Will("s/_hub/status", b"offline")


def s(text: bytes) -> bytes:
    """A length-prefixed MQTT string, spelled out for the expected values."""
    return len(text).to_bytes(2, "big") + text


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, b"\x00"),
        (127, b"\x7f"),
        (128, b"\x80\x01"),
        (16383, b"\xff\x7f"),
        (16384, b"\x80\x80\x01"),
        (2097151, b"\xff\xff\x7f"),
        (2097152, b"\x80\x80\x80\x01"),
        (268435455, b"\xff\xff\xff\x7f"),
    ],
)
def test_variable_byte_integers_round_trip_at_every_width(value, encoded):
    assert mp.varint(value) == encoded
    assert mp.read_varint(b"\xaa" + encoded + b"\xbb", 1) == (value, 1 + len(encoded))


def test_variable_byte_integers_out_of_range_are_refused():
    with pytest.raises(mp.PacketError):
        mp.varint(268435456)
    with pytest.raises(mp.PacketError):
        mp.read_varint(b"\xff\xff\xff\xff\x01", 0)
    with pytest.raises(mp.PacketError):
        mp.read_varint(b"\x80", 0)


def test_connect_v5_carries_session_expiry_receive_maximum_will_and_login():
    got = mp.connect(
        "hub",
        keepalive=30,
        v5=True,
        session_expiry=86400,
        receive_maximum=50,
        username="u",
        password="p",  # noqa: S106 - test data
        will=WILL,
    )
    variable = (
        b"\x00\x04MQTT"
        b"\x05"  # protocol name and level 5
        b"\xec"  # user name, password, will retain, will QoS 1, will; no clean start
        b"\x00\x1e"  # keepalive 30
        b"\x08"
        b"\x11\x00\x01\x51\x80"
        b"\x21\x00\x32"
    )  # expiry 86400, recv max 50
    payload = (
        s(b"hub")
        + b"\x00"
        + s(b"s/_hub/status")
        + s(b"offline")  # will has properties
        + s(b"u")
        + s(b"p")
    )
    assert got == b"\x10" + bytes([len(variable) + len(payload)]) + variable + payload
    assert got[1] == 55


def test_connect_v311_keeps_the_session_and_has_no_properties():
    got = mp.connect("sitless-hub", keepalive=60, v5=False, will=WILL)
    variable = b"\x00\x04MQTT\x04" + b"\x2c" + b"\x00\x3c"  # level 4; will retain, QoS 1, will
    payload = s(b"sitless-hub") + s(b"s/_hub/status") + s(b"offline")
    assert got == b"\x10" + bytes([len(variable) + len(payload)]) + variable + payload
    assert mp.connect("c", keepalive=5, v5=False, clean_start=True)[9] == 0x02


def test_connect_with_only_a_user_name_sets_only_that_flag():
    got = mp.connect("c", keepalive=5, v5=False, username="hub")
    assert got[9] == 0x80
    assert got.endswith(s(b"c") + s(b"hub"))


def test_subscribe_v5_has_empty_properties_and_no_local_options():
    got = mp.subscribe(
        7, [("a/+/+", 1 | mp.SUB_NO_LOCAL), ("b/c/+/+", 1 | mp.SUB_NO_LOCAL)], v5=True
    )
    body = b"\x00\x07" + b"\x00" + s(b"a/+/+") + b"\x05" + s(b"b/c/+/+") + b"\x05"
    assert got == b"\x82" + bytes([len(body)]) + body


def test_subscribe_v311_has_no_properties():
    assert mp.subscribe(1, [("p/+/+", 1)], v5=False) == b"\x82\x0a\x00\x01" + s(b"p/+/+") + b"\x01"


def test_publish_qos1_with_retain_and_dup_flags():
    v5 = mp.publish("p/d/cmd", b"{}", mid=258, retain=True, v5=True)
    assert v5 == b"\x33\x0e" + s(b"p/d/cmd") + b"\x01\x02" + b"\x00" + b"{}"
    v311 = mp.publish("p/d/cmd", b"{}", mid=258, v5=False)
    assert v311 == b"\x32\x0d" + s(b"p/d/cmd") + b"\x01\x02" + b"{}"
    assert mp.with_dup(v5) == b"\x3b" + v5[1:]
    assert mp.publish("p/d/cmd", b"{}", mid=1, dup=True, v5=False)[0] == 0x3A


def test_publish_qos0_has_no_packet_id_and_long_bodies_get_a_longer_length():
    assert mp.publish("t", b"x", mid=0, qos=0, v5=False) == b"\x30\x04" + s(b"t") + b"x"
    big = mp.publish("t", b"x" * 200, mid=1, v5=False)
    assert big[:3] == b"\x32" + mp.varint(3 + 2 + 200)
    assert big[1:3] == b"\xcd\x01"


def test_fixed_packets():
    assert mp.puback(0x1234) == b"\x40\x02\x12\x34"
    assert mp.pubacks([1, 2, 65535]) == b"\x40\x02\x00\x01\x40\x02\x00\x02\x40\x02\xff\xff"
    assert mp.pubacks([]) == b""
    assert mp.PINGREQ_PACKET == b"\xc0\x00"
    assert mp.DISCONNECT_PACKET == b"\xe0\x00"


def publish_v5(
    topic: bytes, payload: bytes, *, mid: int | None, props: bytes = b"", first: int = 0x32
) -> bytes:
    body = s(topic) + (b"" if mid is None else mid.to_bytes(2, "big"))
    body += mp.varint(len(props)) + props + payload
    return bytes([first]) + mp.varint(len(body)) + body


def test_read_packets_takes_every_publish_and_skips_v5_properties():
    user = b"\x26" + s(b"k") + s(b"v" * 140)  # a user property: the property length needs 2 bytes
    props = b"\x01\x01" + b"\x0b\x05" + user  # payload format, subscription identifier, user
    data = (
        publish_v5(b"p/d1/occupancy", b'{"seated":true}', mid=9)
        + publish_v5(b"p/d2/telemetry", b"t" * 300, mid=10, props=props, first=0x3B)
        + publish_v5(b"p/d3/view", b"v", mid=None, first=0x31)
        + b"\xd0\x00"
        + b"\x40\x03\x00\x05\x10"
    )
    publishes, others, used, need = mp.read_packets(data, v5=True)
    assert publishes == [
        ("p/d1/occupancy", b'{"seated":true}', False, 9, 1),
        ("p/d2/telemetry", b"t" * 300, True, 10, 1),
        ("p/d3/view", b"v", True, 0, 0),
    ]
    assert others == [(0xD0, b""), (0x40, b"\x00\x05\x10")]
    assert (used, need) == (len(data), 0)
    assert isinstance(publishes[1][1], bytes)


def test_read_packets_v311_has_no_properties():
    data = b"\x32\x0b" + s(b"a/b") + b"\x00\x01" + b"body"
    assert mp.read_packets(data, v5=False) == ([("a/b", b"body", False, 1, 1)], [], len(data), 0)


def test_read_packets_stops_at_an_incomplete_packet_and_says_how_long_it_is():
    first = publish_v5(b"a/b/c", b"1", mid=1)
    big = publish_v5(b"a/b/c", b"x" * 1000, mid=2)
    data = first + big
    for cut in range(len(first), len(data)):
        publishes, _others, used, need = mp.read_packets(data[:cut], v5=True)
        assert len(publishes) == 1
        assert used == len(first)
        # Once the length bytes are in, the whole size is known.
        assert need == (len(big) if cut - len(first) >= 3 else 0)
    assert mp.read_packets(data[:1], v5=True) == ([], [], 0, 0)
    assert mp.read_packets(data[len(first) :], v5=True)[0] == [("a/b/c", b"x" * 1000, False, 2, 1)]


def test_read_packets_takes_qos2_and_refuses_qos3_and_publishes_that_overrun_themselves():
    # A broker that does not downgrade (aedes) sends QoS 2 on a QoS 1 subscription.
    assert mp.read_packets(b"\x34\x06" + s(b"a") + b"\x00\x01\x00", v5=True)[0] == [
        ("a", b"", False, 1, 2)
    ]
    with pytest.raises(mp.PacketError, match="QoS 3"):
        mp.read_packets(b"\x36\x06" + s(b"a") + b"\x00\x01\x00", v5=True)
    with pytest.raises(mp.PacketError):
        mp.read_packets(b"\x32\x03" + s(b"abc") + b"\x00\x01\x00", v5=True)
    with pytest.raises(mp.PacketError):
        mp.read_packets(b"\x32\x04\x00\x09ab", v5=False)
    with pytest.raises(mp.PacketError, match="four bytes"):
        mp.read_packets(b"\x30\xff\xff\xff\xff\x01", v5=True)


def test_connack_v5_properties_are_read_and_the_rest_skipped():
    props = (
        b"\x21\x00\x0a"
        b"\x13\x00\x3c"
        b"\x22\x00\x05"
        b"\x27\x00\x01\x00\x00"
        b"\x12" + s(b"id") + b"\x26" + s(b"k") + s(b"v") + b"\x1f" + s(b"fine")
    )
    body = b"\x01\x00" + mp.varint(len(props)) + props
    got = mr.read_connack(body, v5=True)
    assert got == mr.Connack(
        session_present=True,
        reason=0,
        receive_maximum=10,
        server_keepalive=60,
        reason_string="fine",
        maximum_packet_size=65536,  # 0x00010000
    )
    assert mr.read_connack(b"\x00\x00\x00", v5=True) == mr.Connack(False, 0)
    refused = mr.read_connack(b"\x00\x86\x00", v5=True)
    assert refused.why(v5=True) == "Bad user name or password"
    assert mr.read_connack(b"\x00\x05", v5=False).why(v5=False) == "Not authorized"
    with pytest.raises(mp.PacketError, match="unknown property"):
        mr.read_connack(b"\x00\x00\x02\x7f\x00", v5=True)


def test_suback_puback_and_disconnect_bodies():
    assert mr.read_suback(b"\x00\x07\x00\x01\x80", v5=True) == (7, [1, 0x80])
    assert mr.read_suback(b"\x00\x07\x05\x1f\x00\x02ok\x01", v5=True) == (7, [1])
    assert mr.read_suback(b"\x01\x00\x01\x01", v5=False) == (256, [1, 1])
    assert mr.read_puback(b"\x00\x05") == (5, 0)
    assert mr.read_puback(b"\x00\x05\x10\x00") == (5, 0x10)
    assert mr.read_disconnect(b"", v5=True) == (0, None)
    assert mr.read_disconnect(b"\x8e\x05\x1f\x00\x02no", v5=True) == (0x8E, "no")
