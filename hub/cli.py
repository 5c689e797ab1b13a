"""The ``sitless`` command: one sub-command per module in ``hub/commands``.

Exit codes: 0 success, 1 runtime failure, 2 bad usage or bad configuration,
3 a device or server could not be reached, 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence

import hub.commands
from hub import __version__
from hub import log as hublog
from hub.errors import ConfigError, DeviceError, SitlessError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_INTERRUPTED = 130

logger = logging.getLogger(__name__)


def command_modules() -> list[str]:
    """The name of every command module in ``hub/commands``, sorted."""
    return sorted(
        info.name
        for info in pkgutil.iter_modules(hub.commands.__path__)
        if not info.name.startswith("_")
    )


def named_command(argv: Sequence[str]) -> str | None:
    """The command module ``argv`` asks for (its first word that is not an option), if any.

    The top-level options take no value, so that word is the command. None
    when there is none or it names no module: the whole parser then says why.
    """
    word = next((a for a in argv if not a.startswith("-")), None)
    if word is None:
        return None
    module = word.replace("-", "_")
    return module if module in command_modules() else None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """Assemble the parser from every command module's ``register``.

    ``only``: just that module's command. Each module imports what its command
    needs, so ``sitless hub`` does not pay for the board, fleet and report
    modules before it starts.
    """
    parser = argparse.ArgumentParser(
        prog="sitless",
        description="sitless: a chair that tells you when you have sat too long.",
    )
    parser.add_argument("--version", action="version", version=f"sitless {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more output (repeat for debug)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in command_modules() if only is None else [only]:
        module = importlib.import_module(f"hub.commands.{name}")
        module.register(sub)
    for child in _below(parser):
        # -v also after the sub-command; counted apart and added up in verbosity().
        child.add_argument(
            "-v",
            "--verbose",
            action="count",
            dest="verbose_after",
            default=argparse.SUPPRESS,
            help="more output (repeat for debug)",
        )
    return parser


def _below(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every sub-command's parser under ``parser``, nested ones included, each once."""
    found: list[argparse.ArgumentParser] = []
    for action in parser._actions:  # noqa: SLF001 - argparse offers no public walk
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001 - same reason
            for child in dict.fromkeys(action.choices.values()):
                found += [child, *_below(child)]
    return found


def verbosity(args: argparse.Namespace) -> int:
    """How many -v were given, before and after the sub-command together."""
    return int(args.verbose) + int(getattr(args, "verbose_after", 0))


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and turn the hub's errors into a line and an exit code."""
    words = sys.argv[1:] if argv is None else argv
    parser = build_parser(named_command(words))
    args = parser.parse_args(words)
    args.verbose = verbosity(args)
    vars(args).pop("verbose_after", None)
    hublog.setup(verbosity=args.verbose)
    try:
        code: int = args.func(args)
    except ConfigError as exc:
        print("sitless: configuration error:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_USAGE
    except DeviceError as exc:
        print(f"sitless: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except SitlessError as exc:
        print(f"sitless: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return code
