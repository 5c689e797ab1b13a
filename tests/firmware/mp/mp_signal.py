# The signal path (median, average, hysteresis, debounce) and calibration on
# recorded-style traces. Runs under MicroPython and CPython.
from harness import Noise, run
from sitless import config
from sitless.chair import Chair
from sitless.compat import ticks_add

EMPTY = 150_000  # the ADC defaults: microvolts of an FSR divider
PERSON = 1_500_000
STEP = 50  # the default sample period


def make_chair(**extra):
    cfg = {"desk": "d1", "transport": "serial"}
    cfg.update(extra)
    return Chair(config.check(cfg), "trace")


def play(chair, segments, start=0, step=STEP, noise=None):
    """Feed (duration_ms, level) segments; returns [(t, seated)] of reported transitions."""
    noise = noise or Noise(40_000)
    events = []
    t = start
    for duration, level in segments:
        end = t + duration
        while t < end:
            t += step
            event = chair.sample(t, level + noise())
            if event is not None:
                events.append((t, event[1]))
    return events


def test_sit_down_is_reported_after_the_seated_debounce():
    chair = make_chair()
    events = play(chair, [(10_000, EMPTY), (30_000, PERSON)])
    assert [s for _t, s in events] == [False, True], events
    sat_at = 10_000
    delay = events[1][0] - sat_at
    assert 2000 <= delay <= 3000, delay  # 2 s debounce plus the filters' lag


def test_reports_come_one_sample_after_the_debounce_at_most():
    # The hold counts from the first raw reading across the threshold, so the
    # median and the average add no lag of their own on top of it.
    chair = make_chair()
    events = play(chair, [(10_000, EMPTY), (20_000, PERSON), (20_000, EMPTY)])
    assert [s for _t, s in events] == [False, True, False], events
    sat_at, stood_at = 10_000, 30_000
    seated_delay = events[1][0] - sat_at
    vacant_delay = events[2][0] - stood_at
    assert 2000 <= seated_delay <= 2000 + STEP, seated_delay
    assert 5000 <= vacant_delay <= 5000 + STEP, vacant_delay


def test_a_lift_one_sample_shorter_than_the_vacant_hold_is_no_vacancy():
    chair = make_chair()
    events = play(chair, [(10_000, EMPTY), (10_000, PERSON), (5000 - STEP, EMPTY),
                          (20_000, PERSON), (10_000, EMPTY)])
    assert [s for _t, s in events] == [False, True, False], events
    assert events[2][0] > 44_800, events  # the last stand, not the lift


def test_single_and_double_sample_presses_never_report_seated():
    chair = make_chair(seated_ms=400)
    segments = [(10_000, EMPTY)]
    for _ in range(20):
        segments += [(STEP, PERSON), (1000, EMPTY), (2 * STEP, PERSON), (1000, EMPTY)]
    events = play(chair, segments)
    assert [s for _t, s in events] == [False], events


def test_fidgeting_and_shifting_weight_never_report_vacant():
    chair = make_chair()
    fidget = []
    for _ in range(20):
        fidget += [(3000, PERSON), (800, 750_000), (1200, PERSON), (1500, 300_000)]
    events = play(chair, [(10_000, EMPTY), (10_000, PERSON)] + fidget)  # noqa: RUF005 - no [*x] in MicroPython
    assert [s for _t, s in events] == [False, True], events


def test_leaning_back_stays_seated():
    # Leaning back moves weight to the backrest: the seat reads between the thresholds.
    chair = make_chair()
    events = play(chair, [(10_000, EMPTY), (10_000, PERSON), (120_000, 800_000),
                          (10_000, PERSON)])
    assert [s for _t, s in events] == [False, True], events


def test_a_brief_lift_is_not_a_vacancy():
    chair = make_chair()
    events = play(chair, [(10_000, EMPTY), (10_000, PERSON), (3000, EMPTY), (20_000, PERSON)])
    assert [s for _t, s in events] == [False, True], events


def test_standing_for_ten_seconds_is_one_vacancy():
    chair = make_chair()
    events = play(chair, [(10_000, EMPTY), (20_000, PERSON), (10_000, EMPTY), (20_000, PERSON)])
    assert [s for _t, s in events] == [False, True, False, True], events
    stood_at = 30_000
    delay = events[2][0] - stood_at
    assert 5000 <= delay <= 6500, delay  # 5 s debounce plus the filters' lag


def test_standing_for_three_minutes_is_one_vacancy_without_flapping():
    chair = make_chair()
    events = play(chair, [(10_000, EMPTY), (60_000, PERSON), (180_000, EMPTY), (60_000, PERSON)])
    assert [s for _t, s in events] == [False, True, False, True], events


def test_drift_over_hours_is_followed_while_vacant():
    # The empty seat creeps up by 900 mV over 8 hours (foam settling, temperature):
    # past the seated threshold, were the baseline not following it.
    chair = make_chair()
    noise = Noise(20_000)
    events = []
    t = 0
    hours = 8
    for i in range(hours * 3600):
        t += 1000
        level = EMPTY + 900_000 * i // (hours * 3600)
        event = chair.sample(t, level + noise())
        if event is not None:
            events.append((t, event[1]))
    assert [s for _t, s in events] == [False], events
    drift = chair.calib.baseline - chair.calib.empty
    assert 800_000 <= drift <= 950_000, drift
    # Someone sits on the drifted seat: still seen.
    events = play(chair, [(20_000, EMPTY + 900_000 + PERSON - EMPTY)], start=t, step=1000)
    assert [s for _t, s in events] == [True], events


def test_no_tare_at_boot_while_someone_sits():
    chair = make_chair()
    events = play(chair, [(20_000, PERSON)])
    assert [s for _t, s in events] == [True]
    assert chair.calib.baseline == EMPTY
    assert chair.tare() is False  # refused while seated
    assert chair.calib.baseline == EMPTY


def test_tare_while_vacant_takes_the_current_reading():
    chair = make_chair()
    play(chair, [(20_000, 400_000)], noise=Noise(0))
    assert chair.tare() is True
    assert chair.calib.baseline == 400_000


def test_spikes_are_rejected_and_counted():
    chair = make_chair()
    segments = []
    for _ in range(30):
        segments += [(2000, EMPTY), (STEP, 40_000_000)]
    events = play(chair, segments)
    assert [s for _t, s in events] == [False], events
    assert chair.calib.rejected == 30


def test_a_lasting_out_of_range_reading_is_believed_in_the_end():
    chair = make_chair(seated_ms=1000, vacant_ms=1000)
    events = play(chair, [(10_000, EMPTY), (30_000, 9_000_000)])
    assert [s for _t, s in events] == [False, True], events


def test_two_point_calibration_sets_the_thresholds_between_the_points():
    chair = make_chair(sensor="hx711", sensor_pin=4, sensor_clk_pin=5, empty=-480_000,
                       occupied=1_320_000)
    cal = chair.calib
    assert cal.baseline == -480_000
    assert cal.lower < cal.upper < cal.span == 1_800_000
    events = play(chair, [(10_000, -480_000), (10_000, 1_300_000), (10_000, -470_000)])
    assert [s for _t, s in events] == [False, True, False], events


def test_an_inverted_divider_works_too():
    # Wired the other way round, pressure lowers the voltage.
    chair = make_chair(empty=2_000_000, occupied=600_000)
    events = play(chair, [(10_000, 2_000_000), (10_000, 600_000), (10_000, 2_000_000)])
    assert [s for _t, s in events] == [False, True, False], events


def test_uptime_survives_ticks_wrapping():
    t = ticks_add(0, -5000)  # just before the ticks counter wraps
    chair = Chair(config.check({"desk": "d1", "transport": "serial"}), "wrap", now_ms=t)
    for _ in range(100):
        t = ticks_add(t, 200)
        chair.sample(t, EMPTY)
    assert chair.uptime_ms == 100 * 200


run(globals())
