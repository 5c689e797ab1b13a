"""``sitless report`` over a local spool filled by History, and over InfluxDB.

Real: the SQLite spool written by History with no server configured, the
``sitless`` command line (in-process), influxd for the InfluxQL path. Stood in:
the hub core (the simulated day script).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from hub import cli
from hub.history import History
from tests.history import day_script as day
from tests.history.helpers import make_cfg, wait_drained
from tests.support.servers import free_port

# Recent enough that the local retention (30 days) keeps it.
DATE = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)


def _write_config(path, state_dir, history_lines=""):
    desks = "\n".join(
        f'[desks.{d}]\nsite = "{w["site"]}"\nfloor = "{w["floor"]}"\nzone = "{w["zone"]}"'
        for d, w in day.DESKS.items()
    )
    path.write_text(f'state_dir = "{state_dir}"\n[history]\n{history_lines}\n{desks}\n')
    return path


def _expected(t0, desk):
    bouts = [b for b in day.bouts(t0) if b.desk == desk]
    return {
        "desk": desk,
        "bouts": len(bouts),
        "seated_s": pytest.approx(sum(b.end - b.start for b in bouts)),
        "longest_s": pytest.approx(max(b.end - b.start for b in bouts)),
        "alerts": sum(b.alerts for b in bouts),
        "snoozes": sum(b.alerts for b in bouts),
        "utilisation": pytest.approx(day.expected_utilisation(desk, t0)),
    }


def _report(capsys, *argv):
    code = cli.main(["report", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def local_spool(tmp_path):
    cfg = make_cfg(tmp_path / "state", desks=day.DESKS)
    history = History(cfg)
    history.start()
    try:
        day.play(history, day.day_start(DATE))
        assert history.stats()["spool_rows"] > 0
    finally:
        history.close()
    return _write_config(tmp_path / "sitless.toml", tmp_path / "state")


def test_report_reads_the_local_spool(local_spool, capsys):
    t0 = day.day_start(DATE)
    code, out, _ = _report(
        capsys, "--config", str(local_spool), "--day", DATE.isoformat(), "--json"
    )
    assert code == 0
    body = json.loads(out)
    assert body["source"] == "the local spool"
    got = {d["desk"]: d for d in body["desks"]}
    sitters = [desk for desk in day.DESKS if day.INTERVALS[desk]]
    assert set(got) == set(day.DESKS)  # a3 never sat but was sampled all day
    for desk in sitters:
        assert got[desk] == _expected(t0, desk)
    assert got["a3"]["bouts"] == 0
    assert got["a3"]["utilisation"] == 0.0


def test_report_table_and_desk_filter(local_spool, capsys):
    code, out, _ = _report(
        capsys, "-c", str(local_spool), "--day", DATE.isoformat(), "--desk", "a1"
    )
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].startswith(f"{DATE.isoformat()} (UTC) from the local spool")
    # a1: 90 and 60 minute bouts, both past the 30 minute limit, a quarter of 600 samples.
    assert lines[2].split() == ["a1", "2", "2h30m", "1h30m", "2", "2", "25%"]
    assert len(lines) == 3


def test_report_on_a_day_without_history_and_without_a_spool(local_spool, tmp_path, capsys):
    code, out, _ = _report(capsys, "-c", str(local_spool), "--day", "2001-01-01")
    assert code == 0
    assert "no sitting recorded" in out
    empty = _write_config(tmp_path / "empty.toml", tmp_path / "nowhere")
    code, _, err = _report(capsys, "-c", str(empty))
    assert code == 1
    assert "no local history yet" in err


def test_report_refuses_a_bad_day(local_spool, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["report", "-c", str(local_spool), "--day", "yesterday"])
    assert exit_info.value.code == 2
    assert "not a date" in capsys.readouterr().err


def test_report_reads_influxdb(influxd, tmp_path, capsys):
    influxd.create_database("report")
    cfg = make_cfg(
        tmp_path / "state", desks=day.DESKS, api="v1", url=influxd.url, database="report"
    )
    history = History(cfg)
    history.start()
    t0 = day.day_start(DATE)
    try:
        day.play(history, t0)
        wait_drained(history)
    finally:
        history.close()
    path = _write_config(
        tmp_path / "influx.toml",
        tmp_path / "state",
        f'api = "v1"\nurl = "{influxd.url}"\ndatabase = "report"',
    )
    code, out, _ = _report(capsys, "-c", str(path), "--day", DATE.isoformat(), "--json")
    assert code == 0
    got = {d["desk"]: d for d in json.loads(out)["desks"]}
    for desk in ("a1", "b1", "c1"):
        assert got[desk] == _expected(t0, desk)
    code, out, _ = _report(
        capsys, "-c", str(path), "--day", DATE.isoformat(), "--json", "--desk", "b2"
    )
    assert [d["desk"] for d in json.loads(out)["desks"]] == ["b2"]
    code, out, _ = _report(
        capsys, "-c", str(path), "--day", DATE.isoformat(), "--json", "--desk", "it's \\ odd"
    )
    assert code == 0
    assert json.loads(out)["desks"] == []


def test_report_says_when_the_server_is_unreachable(tmp_path, capsys):
    path = _write_config(
        tmp_path / "down.toml",
        tmp_path / "state",
        f'api = "v1"\nurl = "http://127.0.0.1:{free_port()}"\ndatabase = "x"',
    )
    code, _, err = _report(capsys, "-c", str(path), "--day", DATE.isoformat())
    assert code == 3
    assert "cannot reach" in err
