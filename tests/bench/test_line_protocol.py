"""The hub's direct line protocol is exactly what influxdb-client's ``Point`` writes.

``HistoryPoint.line`` skips ``Point`` for speed (docs/performance.md); this
holds it to the reference over arbitrary measurements, tags and values,
awkward characters included. Real: influxdb-client's ``Point``. Nothing is
stood in.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.history.points import HistoryPoint

names = st.text(min_size=1, max_size=12)
texts = st.text(max_size=16)
numbers = st.one_of(
    st.integers(-(2**62), 2**62),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 1.0, -2.0, 1e16, 1.5e-7, 3.0, 100.0]),
)


@settings(max_examples=400, deadline=None)
@given(
    measurement=names,
    tags=st.lists(st.tuples(names, texts), max_size=6),
    fields=st.lists(st.tuples(names, numbers), max_size=6),
    ts_ms=st.integers(0, 2**53),
)
def test_line_matches_influxdb_clients_point(measurement, tags, fields, ts_ms):
    """Real influxdb-client Point as the reference; nothing stood in."""
    point = HistoryPoint(measurement, tuple(tags), tuple(fields), ts_ms)
    assert point.line() == point.point_line()


def test_a_typical_point_is_unchanged():
    """Real influxdb-client Point as the reference; nothing stood in."""
    point = HistoryPoint(
        "occupancy",
        (("site", "hq"), ("floor", "3"), ("zone", "n w"), ("desk", "d,1")),
        (("seated", 1), ("value", 2.0)),
        1764140000250,
    )
    expected = r"occupancy,desk=d\,1,floor=3,site=hq,zone=n\ w seated=1i,value=2 1764140000250"
    assert point.line() == expected
    assert point.line() == point.point_line()
