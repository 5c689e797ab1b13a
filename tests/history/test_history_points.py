"""Schema, privacy routing, zone pooling and the local store, without any server.

Real: influxdb-client's Point (the line protocol text), the SQLite spool on
disk, History with no server configured (the spool is the store). Nothing is
stood in; these parts need no network.
"""

from __future__ import annotations

import time

import pytest

from hub.config import HistoryConfig
from hub.core.facts import AlertSent, BoutEnded, DeskSample, OccupancyChanged, Snoozed
from hub.errors import HistoryError
from hub.history import History
from hub.history.points import from_fact, from_sample
from hub.history.privacy import MERGED, Router, zone_counts
from tests.history.helpers import make_cfg

T0 = 1_775_000_000.25


def test_occupancy_line_has_location_tags_and_seq_as_an_integer_field(tmp_path):
    cfg = make_cfg(tmp_path, desks={"d1": {"site": "hq", "floor": "3", "zone": "north"}})
    [point] = from_fact(cfg, OccupancyChanged("d1", T0, True, 41, 512.0))
    assert point.line() == (
        "occupancy,desk=d1,floor=3,site=hq,zone=north seated=1i,seq=41i 1775000000250"
    )


def test_bout_line_keeps_types_stable_and_skips_a_missing_response(tmp_path):
    cfg = make_cfg(tmp_path)
    [point] = from_fact(cfg, BoutEnded("d1", T0, T0 + 1800, "offline", 0, 0, 0, None))
    line = point.line()
    assert line.startswith(
        "sitting_bout,desk=d1,ended_by=offline,floor=default,site=default,zone=default "
    )
    assert "duration_s=1800," in line  # a float; integers would carry an "i"
    assert "alerts=0i" in line
    assert "responded_s" not in line


def test_a_snooze_has_no_point_of_its_own(tmp_path):
    assert from_fact(make_cfg(tmp_path), Snoozed("d1", T0, "short")) == []


def _samples(layout):
    return [DeskSample(desk, T0, occupied, 0.0, True) for desk, occupied in layout]


def test_zone_pooling_climbs_one_level_at_a_time(tmp_path):
    desks = {
        "a1": ("hq", "3", "n"),
        "a2": ("hq", "3", "n"),
        "a3": ("hq", "3", "n"),
        "b1": ("hq", "3", "s"),
        "b2": ("hq", "3", "s"),
        "c1": ("hq", "4", "lab"),
        "x1": ("annex", "1", "x"),
    }
    cfg = make_cfg(
        tmp_path,
        desks={d: dict(zip(("site", "floor", "zone"), w, strict=True)) for d, w in desks.items()},
    )
    samples = _samples([(d, d in {"a1", "b1", "c1"}) for d in desks])
    counts = {
        (z.site, z.floor, z.zone): (z.occupied, z.desks) for z in zone_counts(cfg, samples, 3)
    }
    # south (2) and lab (1) pool at site hq; the annex's single desk is never shown.
    assert counts == {("hq", "3", "n"): (1, 3), ("hq", MERGED, MERGED): (2, 3)}
    every = {(z.site, z.floor, z.zone): z.desks for z in zone_counts(cfg, samples, 1)}
    assert len(every) == 4
    assert zone_counts(cfg, samples, 8) == []
    everywhere = zone_counts(cfg, samples, 7)
    assert [(z.site, z.occupied, z.desks) for z in everywhere] == [(MERGED, 3, 7)]


def test_router_by_privacy_mode(tmp_path):
    cfg = make_cfg(tmp_path)
    occupancy = from_fact(cfg, OccupancyChanged("d1", T0, True, 1, 1.0))[0]
    state = from_sample(cfg, DeskSample("d1", T0, True, 5.0, True), T0)
    desk_mode = Router(HistoryConfig())
    assert desk_mode.route(occupancy) == [("main", occupancy)]
    hidden = Router(HistoryConfig(privacy="aggregate", api="v1", url="http://x", database="m"))
    assert hidden.route(occupancy) == []
    assert hidden.route(state) == []
    personal = Router(
        HistoryConfig(
            privacy="aggregate", api="v2", url="http://x", org="o", bucket="m", personal_bucket="p"
        )
    )
    assert personal.route(state) == [("personal", state)]


def test_local_store_replaces_a_replayed_point_and_prunes_old_ones(tmp_path, open_history):
    cfg = make_cfg(tmp_path, local_retention="30d")
    history = open_history(cfg)
    now = time.time()
    alert = AlertSent("d1", now, 1, 1800.0)
    history.record(alert)
    history.record(alert)
    history.record(AlertSent("d1", now, 1, 1800.0, acked=True))
    history.record(OccupancyChanged("d1", now - 40 * 86400, True, 1, 1.0))
    stats = history.stats()
    assert stats["spool_rows"] == 2
    assert stats["oldest_unsent_s"] is None  # nothing is "unsent" without a server
    spool = history._require_spool()
    [stored] = list(spool.read(["alert"], 0, 2**62))
    assert stored.fields == {"seated_s": 1800.0, "acked": 1}
    history.close()
    reopened = open_history(cfg)
    assert reopened.stats()["spool_rows"] == 1


def test_misuse_is_one_clear_error_and_bad_facts_do_not_raise(tmp_path, open_history, caplog):
    unstarted = History(make_cfg(tmp_path / "a"))
    with pytest.raises(HistoryError, match="start"):
        unstarted.record(Snoozed("d1", T0, "short"))
    history = open_history(make_cfg(tmp_path / "b"))
    history.record("not a fact")  # type: ignore[arg-type]
    assert history.stats()["refused"] == 1
    assert "history cannot store str" in caplog.text


def test_the_spool_file_is_private_to_the_hub_user(tmp_path, open_history):
    history = open_history(make_cfg(tmp_path))
    history.record(OccupancyChanged("d1", time.time(), True, 1, 1.0))
    for name in ("sitless-spool.sqlite3", "sitless-spool.sqlite3-wal"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600
