"""``sitless dashboards push``: put the shipped dashboards into a Grafana you already run."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from hub import config
from hub.errors import ConfigError
from hub.integrations.grafana import push

TOKEN_ENV = "GRAFANA_TOKEN"  # noqa: S105 - the name of a variable, not a secret
EXIT_OK = 0
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3


def register(sub: Any) -> None:
    """Add ``dashboards`` and its ``push`` sub-command."""
    p: argparse.ArgumentParser = sub.add_parser(
        "dashboards",
        help="manage the Grafana dashboards",
        description="Manage the Grafana dashboards shipped with sitless.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    pp: argparse.ArgumentParser = actions.add_parser(
        "push",
        help="create or update the dashboards and datasource in Grafana",
        description="Create or update, by fixed uid, the sitless folder, the InfluxQL "
        "datasource (from the [history] section of the configuration) and every "
        "dashboard. Running it again updates in place. The API token comes from "
        f"--token-file or the {TOKEN_ENV} environment variable. Exit codes: 0 done, "
        "1 Grafana rejected a write, 2 bad options or refused token, "
        "3 Grafana unreachable.",
    )
    pp.add_argument("--url", required=True, help="Grafana base URL, e.g. http://grafana:3000")
    pp.add_argument(
        "--token-file",
        metavar="FILE",
        help=f"file holding a Grafana service-account token (else ${TOKEN_ENV})",
    )
    pp.add_argument(
        "--config",
        "-c",
        metavar="FILE",
        help="hub configuration whose [history] section describes InfluxDB",
    )
    pp.add_argument(
        "--influx-url",
        metavar="URL",
        help="InfluxDB URL as Grafana reaches it, if not the hub's history.url",
    )
    pp.add_argument(
        "--no-datasource",
        action="store_true",
        help="push the dashboards only; the datasource exists already",
    )
    pp.add_argument(
        "--dir",
        type=Path,
        default=push.DEFAULT_DASHBOARDS,
        help="folder holding the dashboard JSON files",
    )
    pp.add_argument("--folder", default=push.FOLDER_UID, help="Grafana folder uid and title")
    pp.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    pp.set_defaults(func=run_push)


def _token(args: argparse.Namespace) -> str:
    if args.token_file:
        try:
            token = Path(args.token_file).read_text().strip()
        except OSError as exc:
            problem = f"--token-file: cannot read {args.token_file} ({exc.strerror})"
            raise ConfigError([problem]) from exc
    else:
        token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise ConfigError([f"no Grafana token: pass --token-file or set {TOKEN_ENV}"])
    return token


def run_push(args: argparse.Namespace) -> int:
    """Push and summarise; unreachable is exit 3 and a refused token exit 2."""
    push.check_url(args.url)
    token = _token(args)
    dashboards = push.load_dashboards(args.dir)
    datasource = None
    if not args.no_datasource:
        cfg = config.load(args.config)
        datasource = push.datasource_payload(cfg.history, args.influx_url)
        push.set_timezone(dashboards, cfg.schedule.timezone if cfg.schedule else "UTC")
    try:
        result = push.GrafanaPush(args.url, token, args.timeout).push(
            dashboards, datasource, folder_uid=args.folder, folder_title=args.folder
        )
    except push.GrafanaUnreachableError as exc:
        print(f"sitless: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except push.GrafanaRefusedError as exc:
        print(f"sitless: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.verbose:
        print(
            f"folder {args.folder} ({'created' if result.folder_created else 'kept'}), "
            f"datasource {result.datasource}, dashboards: {', '.join(result.dashboards)}"
        )
    return EXIT_OK
