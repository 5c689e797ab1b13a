# The pure modules: outbox, local fallback timer, command checks, config
# validation and payload encoding. Runs under MicroPython and CPython.
import json

from harness import run
from sitless import commands, config, payload, points
from sitless.chair import Chair
from sitless.fallback import Fallback
from sitless.outbox import Outbox

MIN = 60_000


def test_outbox_keeps_order_and_drops_the_oldest_when_full():
    box = Outbox(3)
    for i in range(5):
        box.push(i)
    assert len(box) == 3
    assert box.dropped == 2
    assert [box.pop(), box.pop(), box.pop()] == [2, 3, 4]
    assert box.pop() is None
    assert box.peek() is None


def test_outbox_pop_of_an_item_that_was_dropped_meanwhile_leaves_the_rest():
    box = Outbox(2)
    first = ("a",)
    box.push(first)
    box.push(("b",))
    box.push(("c",))  # drops `first` while it may be in flight
    assert box.pop(first) is None
    assert len(box) == 2


def test_fallback_alerts_at_the_limit_and_escalates():
    timer = Fallback(30 * MIN, 2 * MIN)
    assert timer.occupancy(True, 0) is None
    assert timer.tick(30 * MIN - 1) is None
    assert timer.tick(30 * MIN) == 1  # level 1 at the limit, as the hub
    assert timer.tick(35 * MIN - 1) is None
    assert timer.tick(35 * MIN) == 2
    assert timer.tick(40 * MIN) == 3
    assert timer.tick(45 * MIN) == 3  # level 3 renewed, never higher
    assert timer.occupancy(False, 46 * MIN) == 0  # standing up silences it


def test_fallback_short_break_does_not_reset_the_bout():
    timer = Fallback(30 * MIN, 2 * MIN)
    timer.occupancy(True, 0)
    timer.occupancy(False, 10 * MIN)
    timer.occupancy(True, 11 * MIN)  # one minute away: not a real break
    assert timer.tick(30 * MIN) == 1


def test_fallback_real_break_starts_a_new_bout():
    timer = Fallback(30 * MIN, 2 * MIN)
    timer.occupancy(True, 0)
    timer.occupancy(False, 10 * MIN)
    timer.tick(12 * MIN)
    timer.occupancy(True, 13 * MIN)
    assert timer.tick(30 * MIN) is None
    assert timer.tick(43 * MIN) == 1


def test_fallback_is_quiet_while_the_hub_is_online_and_takes_over_when_it_goes():
    timer = Fallback(30 * MIN, 2 * MIN)
    timer.hub_online = True
    timer.occupancy(True, 0)
    assert timer.tick(40 * MIN) is None
    timer.hub_online = False
    assert timer.tick(40 * MIN) == 3  # the bout was timed all along
    timer.hub_online = True
    assert timer.tick(41 * MIN) == 0


def test_fallback_snooze_and_meeting_pause():
    timer = Fallback(30 * MIN, 2 * MIN)
    timer.occupancy(True, 0)
    assert timer.tick(30 * MIN) == 1
    assert timer.press(False, 31 * MIN, True)  # snooze for ten minutes: granted
    assert timer.tick(31 * MIN) == 0
    assert timer.tick(40 * MIN) is None
    assert timer.tick(41 * MIN) == 2  # the next alert is a level higher
    assert timer.press(True, 42 * MIN, True)  # a meeting: an hour
    assert timer.tick(42 * MIN) == 0
    assert timer.tick(101 * MIN) is None
    assert timer.tick(102 * MIN) == 3


def test_fallback_snooze_limit_and_strict_mode():
    timer = Fallback(30 * MIN, 2 * MIN, 3)
    timer.occupancy(True, 0)
    assert timer.tick(30 * MIN) == 1
    now = 30 * MIN
    for level in (2, 3, 3):
        now += MIN
        assert timer.press(False, now, True)
        assert timer.tick(now) == 0
        now += 10 * MIN
        assert timer.tick(now) == level  # back, a level higher (3 at most)
    assert not timer.press(False, now + MIN, True)  # the fourth: refused
    assert timer.tick(now + MIN) is None  # the alert goes on
    assert timer.level == 3
    strict = Fallback(30 * MIN, 2 * MIN, 0)
    strict.occupancy(True, 0)
    assert strict.tick(30 * MIN) == 1
    for i in range(4):
        assert not strict.press(False, 31 * MIN + i, True)
        assert strict.tick(31 * MIN + i) is None
    assert strict.level == 1
    assert strict.tick(35 * MIN) == 2  # and it escalates on time
    # A real break starts a new bout with its snoozes back.
    timer.occupancy(False, 90 * MIN)
    timer.occupancy(True, 92 * MIN + 1)
    assert timer.snoozes == 0


def test_commands_follow_the_contract():
    ok, error = commands.parse(b'{"id": "h-1", "action": "alert", "level": 2, "move": "walk"}')
    assert error is None
    assert ok["level"] == 2
    assert commands.parse(b'{"id": "h-1", "action": "alert", "level": 2}', True) == (
        None, "retained command ignored")
    assert commands.parse(b'{"id": "h-2", "action": "alert", "level": true}') == (
        "h-2", "level must be 1, 2 or 3")
    assert commands.parse(b"[1]")[0] is None
    assert commands.parse(b"\xff\xfe")[0] is None
    assert commands.parse(b'{"id": "", "action": "clear"}')[0] is None


def test_config_defaults_follow_the_serial_table():
    cfg = config.check({"desk": "d1", "wifi_ssid": "net", "mqtt_host": "broker"})
    assert cfg["transport"] == "wifi"
    assert cfg["mqtt_port"] == 1883
    assert cfg["prefix"] == "sitless"
    assert cfg["sensor"] == "adc"
    assert cfg["sensor_pin"] == 34
    assert (cfg["seated_ms"], cfg["vacant_ms"]) == (2000, 5000)
    assert (cfg["buzzer_pin"], cfg["led_pin"], cfg["button_pin"]) == (25, 2, 0)
    assert (cfg["motor_pin"], cfg["safe_pin"]) == (None, 15)
    assert (cfg["limit_s"], cfg["min_break_s"]) == (1800, 120)
    assert (cfg["telemetry_s"], cfg["sample_ms"]) == (60, 50)
    assert sorted(cfg) == sorted(config.KEYS)


def refused(obj):
    try:
        config.check(obj)
    except config.ConfigError as exc:
        return str(exc)
    return None


def test_config_refuses_bad_keys_by_name():
    base = {"desk": "d1", "transport": "serial"}

    def bad(**extra):
        obj = dict(base)
        obj.update(extra)
        return refused(obj)

    assert "desk" in refused({"transport": "serial"})
    assert "unknown key 'colour'" in bad(colour="red")
    assert "mqtt_port" in bad(mqtt_port="1883")
    assert "seated_ms" in bad(seated_ms=True)
    assert "desk" in bad(desk="Desk 1")
    assert "sensor_pin" in bad(sensor_pin=25)  # an ADC2 pin
    assert "sensor_clk_pin" in bad(sensor="hx711", sensor_pin=4)
    assert "empty and occupied" in bad(empty=1)
    assert "prefix" in bad(prefix="a/_hub")
    assert "wifi_ssid" in refused({"desk": "d1", "mqtt_host": "b"})
    assert "transport" in bad(transport="bluetooth")


def test_config_errors_never_show_a_secret():
    message = refused({"desk": "d1", "transport": "serial", "wifi_password": 12345678})
    assert "wifi_password" in message
    assert "12345678" not in message


def test_config_update_on_top_of_the_current_one():
    cfg = config.check({"desk": "d1", "transport": "serial"})
    fresh = config.check({"limit_s": 60}, cfg)
    assert fresh["limit_s"] == 60
    assert fresh["desk"] == "d1"


def test_saved_baseline_survives_a_reboot_only_for_the_same_calibration():
    cfg = config.check({"desk": "d1", "transport": "serial", "empty": 100, "occupied": 900})
    first = points.from_config(cfg)
    first.tare(180, False)
    saved = json.loads(json.dumps(  # as the calibration file holds it
        {"empty": first.empty, "occupied": first.occupied, "baseline": first.baseline}))
    assert points.from_config(cfg, saved).baseline == 180
    recalibrated = config.check({"limit_s": 60, "empty": 120, "occupied": 950}, cfg)
    assert points.from_config(recalibrated, saved).baseline == 120
    assert points.from_config(cfg, {"empty": 100, "occupied": 900, "baseline": "x"}).baseline == 100


def test_payload_times_keep_milliseconds():
    body = json.loads(payload.occupancy(True, 7, "a1b2", 1764140000250, 123456, 1830))
    assert body == {"seated": True, "seq": 7, "boot": "a1b2", "ts": 1764140000.25,
                    "uptime_ms": 123456, "value": 1830}
    assert payload.timestamp(None) == "null"
    assert payload.timestamp(1764140000005) == "1764140000.005"


def test_payload_strings_are_escaped():
    body = json.loads(payload.ack('say "hi"\n', False, 'bad "key"'))
    assert body == {"id": 'say "hi"\n', "ok": False, "error": 'bad "key"'}


def test_chair_events_encode_to_the_published_payload():
    chair = Chair(config.check({"desk": "d1", "transport": "serial", "seated_ms": 0}), "demo")
    out = []
    for i in range(20):
        event = chair.sample(i * 200, 1_600_000, 1764140000000 + i * 200)
        if event is not None:
            out.append((event[0], json.loads(payload.encode(chair.boot, event))))
    assert out == [("occupancy", {"seated": True, "seq": 0, "boot": "demo",
                                  "ts": 1764140000.0, "uptime_ms": 0, "value": 1600000})]


run(globals())
