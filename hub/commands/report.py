"""``sitless report``: one day of sitting per desk, from the local spool or from InfluxDB."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import zoneinfo
from typing import Any

from hub import config
from hub.commands import _breaks as breaks
from hub.errors import HistoryError
from hub.history.spool import Spool
from hub.history.summary import (
    REPORT_MAX_BYTES,
    DeskDay,
    ServerUnreachableError,
    from_influx,
    from_spool,
)

EXIT_UNREACHABLE = 3


def register(sub: Any) -> None:
    """Add the sub-command."""
    p: argparse.ArgumentParser = sub.add_parser(
        "report",
        help="summarise one day of sitting per desk",
        description="Per desk: bouts, seated time, longest bout, alerts, snoozes and "
        "utilisation for one day (in the schedule's time zone, UTC without one). "
        "Reads InfluxDB when [history] names a server, the local spool otherwise. "
        "Exit 0 ok, 1 no history, 2 bad usage, 3 server unreachable.",
    )
    p.add_argument("--config", "-c", metavar="FILE", help="TOML configuration file")
    p.add_argument("--desk", metavar="DESK", help="only this desk")
    p.add_argument(
        "--day", metavar="YYYY-MM-DD", type=_parse_day, help="the day to report (default: today)"
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument(
        "--breaks",
        action="store_true",
        help="also the break accounting: compliance, responses, the weekly goal and streaks",
    )
    p.set_defaults(func=run)


def _parse_day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        msg = f"not a date like 2026-03-02: {text!r}"
        raise argparse.ArgumentTypeError(msg) from exc


def run(args: argparse.Namespace) -> int:
    """Gather and print; a missing spool or an unreachable server is one line on stderr."""
    cfg = config.load(args.config)
    tz = zoneinfo.ZoneInfo(cfg.schedule.timezone if cfg.schedule else "UTC")
    day: dt.date = args.day or dt.datetime.now(tz).date()
    start = dt.datetime.combine(day, dt.time(0, 0), tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0), tzinfo=tz)
    start_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    if cfg.history.api == "none":
        path = cfg.state_path(cfg.history.spool)
        if not path.exists():
            msg = f"no local history yet: {path} does not exist"
            raise HistoryError(msg)
        spool = Spool(path, REPORT_MAX_BYTES)
        try:
            days = from_spool(spool, start_ms, end_ms, args.desk)
        finally:
            spool.close()
        source = "the local spool"
    else:
        try:
            days = from_influx(cfg.history, start_ms, end_ms, args.desk)
        except ServerUnreachableError as exc:
            print(f"sitless: {exc}", file=sys.stderr)
            return EXIT_UNREACHABLE
        source = f"InfluxDB ({cfg.history.api})"
    standing = (
        breaks.gather(cfg, day, tz, args.desk, [d.desk for d in days]) if args.breaks else None
    )
    if args.json:
        body: dict[str, Any] = {
            "day": day.isoformat(),
            "timezone": str(tz),
            "source": source,
            "desks": [d.as_dict() for d in days],
        }
        if standing is not None:
            body["breaks"] = [s.as_dict() for s in standing]
        print(json.dumps(body, ensure_ascii=False))
    else:
        print(_table(day, str(tz), source, days))
        if standing is not None:
            print(breaks.table(standing))
    return 0


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60}h{minutes % 60:02d}m"


def _table(day: dt.date, tz: str, source: str, days: list[DeskDay]) -> str:
    lines = [f"{day.isoformat()} ({tz}) from {source}"]
    if not days:
        lines.append("no sitting recorded")
        return "\n".join(lines)
    width = max(4, *(len(d.desk) for d in days))
    lines.append(f"{'desk':<{width}}  bouts  seated  longest  alerts  snoozes  utilisation")
    for d in days:
        used = "-" if d.utilisation is None else f"{d.utilisation:.0%}"
        lines.append(
            f"{d.desk:<{width}}  {d.bouts:>5}  {_duration(d.seated_s):>6}  "
            f"{_duration(d.longest_s):>7}  {d.alerts:>6}  {d.snoozes:>7}  {used:>11}"
        )
    return "\n".join(lines)
