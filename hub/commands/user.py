"""``sitless user hash``: the scrypt hash of a password or API token, for ``[users.NAME]``."""

from __future__ import annotations

import argparse
import getpass
import secrets
import sys
from typing import Any

from hub.errors import ConfigError
from hub.web.auth import hash_secret

MIN_LENGTH = 10


def register(sub: Any) -> None:
    """Add the sub-command."""
    p: argparse.ArgumentParser = sub.add_parser(
        "user",
        help="account tools for the status page",
        description="Account tools for the status page's [users.NAME] sections.",
    )
    inner = p.add_subparsers(dest="user_command", metavar="ACTION")
    inner.required = True
    hashing = inner.add_parser(
        "hash",
        help="print the scrypt hash of a password (asked without echo) or a new token",
        description="Print a hash for password_hash (or token_hash) in [users.NAME]. "
        "The password is asked twice without echo, or read from standard input "
        "with --stdin; --new-token makes a random API token, prints it once on "
        "standard error and its hash on standard output.",
    )
    how = hashing.add_mutually_exclusive_group()
    how.add_argument("--stdin", action="store_true", help="read the secret from standard input")
    how.add_argument("--new-token", action="store_true", help="make a random API token")
    hashing.set_defaults(func=run_hash)


def run_hash(args: argparse.Namespace) -> int:
    """Ask, check and print."""
    if args.new_token:
        token = secrets.token_urlsafe(32)
        print(f"token (shown once): {token}", file=sys.stderr)
        print(hash_secret(token))
        return 0
    if args.stdin:
        secret = sys.stdin.readline().rstrip("\r\n")
    else:
        secret = getpass.getpass("password: ")
        if getpass.getpass("again: ") != secret:
            raise ConfigError(["the two passwords differ"])
    if len(secret) < MIN_LENGTH:
        raise ConfigError([f"the password is shorter than {MIN_LENGTH} characters"])
    print(hash_secret(secret))
    return 0
