"""``sitless desk link``: a person's own link to their desk's live page, with a QR code."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import segno

from hub import config
from hub.errors import ConfigError
from hub.web.auth import LinkSigner, link_key, link_key_path


def register(sub: Any) -> None:
    """Add the sub-command."""
    p: argparse.ArgumentParser = sub.add_parser(
        "desk",
        help="per-desk tools: a person's link to their own desk",
        description="Per-desk tools for the status page.",
    )
    inner = p.add_subparsers(dest="desk_command", metavar="ACTION")
    inner.required = True
    link = inner.add_parser(
        "link",
        help="print the secret link (and a QR code) that opens one desk's live page",
        description="Print the link that signs a person in to their own desk only "
        "(live state, today, pause), as a URL and a QR code. The link is signed with "
        "the key in state_dir (made on first use, mode 0600); deleting that key "
        "revokes every link. Run it as the user the hub runs as.",
    )
    link.add_argument("--config", "-c", metavar="FILE", help="TOML configuration file")
    link.add_argument("--desk", required=True, metavar="DESK", help="the desk id")
    link.add_argument("--url", metavar="BASE", help="base URL of the page (default: public_url)")
    link.add_argument("--svg", metavar="FILE", type=Path, help="also write the QR code as SVG")
    link.add_argument("--no-qr", action="store_true", help="print the URL only")
    link.set_defaults(func=run_link)


def desk_link(cfg: config.HubConfig, desk: str, base: str | None = None) -> str:
    """The full link for one desk."""
    if not config.DESK_ID.match(desk):
        raise ConfigError([f"--desk: {desk!r} is not a desk id ({config.DESK_ID.pattern})"])
    if not cfg.status.desk_links:
        raise ConfigError(["status.desk_links is false: desk links are turned off"])
    signer = LinkSigner(link_key(link_key_path(Path(cfg.state_dir))))
    root = base or cfg.status.public_url or f"http://{cfg.status.host}:{cfg.status.port}/"
    query = urlencode({"desk": desk, "t": signer.token(desk)})
    return f"{root.rstrip('/')}/link?{query}"


def run_link(args: argparse.Namespace) -> int:
    """Print the link, then the QR code."""
    cfg = config.load(args.config)
    url = desk_link(cfg, args.desk, args.url)
    if args.desk not in cfg.desks:
        print(f"note: {args.desk} is not described under [desks] in the config", file=sys.stderr)
    print(url)
    qr = segno.make(url, error="m")
    if args.svg:
        qr.save(args.svg, kind="svg", scale=4)
    if not args.no_qr:
        qr.terminal(out=sys.stdout, compact=True)
    return 0
