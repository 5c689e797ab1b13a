"""Every board command answers --help with its usage and exit code 0.

Real: the sitless command's parser, assembled from the command modules; nothing stood in.
"""

from __future__ import annotations

import pytest

from hub import cli

COMMANDS = [
    ["flash"],
    ["deploy"],
    ["provision"],
    ["calibrate"],
    ["monitor"],
    ["fleet"],
    ["fleet", "config"],
    ["serial-bridge"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_works(command, capsys):
    """Usage line first, exit 0, no port or broker needed."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: sitless {' '.join(command)}")
    assert "--help" in out


@pytest.mark.parametrize(
    "command", ["flash", "deploy", "provision", "calibrate", "monitor", "serial-bridge"]
)
def test_the_port_is_required(command, capsys):
    """Usage errors exit 2 and name the missing option."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command])
    assert exit_info.value.code == 2
    assert "--port" in capsys.readouterr().err
