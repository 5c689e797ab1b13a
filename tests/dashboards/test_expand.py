"""Query expansion matches what Grafana's InfluxDB datasource sends.

Real: hub.integrations.grafana.expand. Nothing stood in; the expected strings follow
Grafana's documented behaviour (time filter in epoch ms, rounded intervals,
regex-escaped multi-value alternations).
"""

from __future__ import annotations

import pytest

from hub.integrations.grafana import expand

DAY_MS = 86_400_000
RANGE = expand.TimeRange(1_700_000_000_000, 1_700_000_000_000 + 7 * DAY_MS)


def test_time_filter_interval_and_range_ends():
    query = "SELECT x FROM m WHERE $timeFilter AND time > ${__to}ms - 3m GROUP BY time($__interval)"
    out = expand.expand(query, RANGE, {}, expand.interval_ms(RANGE, 1000, "60s"))
    assert out == (
        "SELECT x FROM m WHERE time >= 1700000000000ms and time <= 1700604800000ms "
        "AND time > 1700604800000ms - 3m GROUP BY time(10m)"
    )


@pytest.mark.parametrize(
    ("points", "minimum", "text"),
    [
        (1000, "60s", "10m"),  # 604.8 s per point rounds to 10 minutes
        (100000, "60s", "1m"),  # finer than the minimum is raised to it
        (7, None, "1d"),
        (50, None, "3h"),  # 12096 s rounds to 3 hours
    ],
)
def test_interval_rounding(points, minimum, text):
    assert expand.interval_text(expand.interval_ms(RANGE, points, minimum)) == text


def test_variables_multi_single_and_escaped():
    variables = {
        "site": expand.Variable(("hq",)),
        "zone": expand.Variable(("north", "south.wing", "a/b")),
        "desk": expand.Variable(("desk-1",), multi=False),
    }
    query = '"site" =~ /^$site$/ AND "zone" =~ /^${zone}$/ AND "desk" =~ /^[[desk]]$/'
    out = expand.expand(query, RANGE, variables, 60_000)
    assert out == (
        r'"site" =~ /^hq$/ AND "zone" =~ /^(north|south\.wing|a\/b)$/ '
        r'AND "desk" =~ /^desk-1$/'
    )


def test_a_raw_variable_is_never_escaped():
    """``${name:raw}`` (Grafana's raw format) puts the value in as it is, say a time zone."""
    variables = {"timezone": expand.Variable(("Europe/Berlin",), multi=False)}
    out = expand.expand("GROUP BY time(1d) tz('${timezone:raw}') /$timezone/", RANGE, variables, 1)
    assert out == r"GROUP BY time(1d) tz('Europe/Berlin') /Europe\/Berlin/"


def test_unknown_variable_and_bad_range_are_errors():
    with pytest.raises(ValueError, match=r"undefined variable.*floor"):
        expand.expand('"floor" =~ /^$floor$/', RANGE, {}, 60_000)
    with pytest.raises(ValueError, match="must end after it starts"):
        expand.TimeRange(10, 10)
    with pytest.raises(ValueError, match="not an interval"):
        expand.interval_to_ms("soon")
