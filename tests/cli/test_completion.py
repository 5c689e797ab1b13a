"""``sitless completion``: the scripts shtab generates from the real parser complete in a shell.

Real: the ``sitless`` command line, shtab, and bash itself loading the bash
script and running its completion function for typed words (zsh and fish are
run the same way when installed; otherwise their scripts are checked for every
sub-command). Stood in: the keystrokes (COMP_WORDS, as bash sets them on Tab).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from hub import cli
from hub.cli import build_parser

SUBCOMMANDS = sorted(
    name
    for name in build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
)


def script(capsys, shell: str) -> str:
    assert cli.main(["completion", shell]) == 0
    out = capsys.readouterr().out
    assert out.endswith("\n")
    return out


def complete_in_bash(tmp_path, text: str, words: list[str]) -> list[str]:
    path = tmp_path / "sitless.bash"
    path.write_text(text)
    quoted = " ".join(f"'{w}'" for w in words)
    program = (
        f"source {path}\n"
        f"COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}\n"
        f'COMP_LINE="${{COMP_WORDS[*]}}"; COMP_POINT=${{#COMP_LINE}}\n'
        "_shtab_sitless\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", program],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line]


def test_bash_completes_sub_commands_options_and_choices(tmp_path, capsys):
    text = script(capsys, "bash")
    assert sorted(complete_in_bash(tmp_path, text, ["sitless", ""])) == SUBCOMMANDS
    assert complete_in_bash(tmp_path, text, ["sitless", "che"]) == ["check-config"]
    assert complete_in_bash(tmp_path, text, ["sitless", "hub", "--con"]) == ["--config"]
    assert "--verbose" in complete_in_bash(tmp_path, text, ["sitless", "hub", "--"])
    assert complete_in_bash(tmp_path, text, ["sitless", "completion", ""]) == [
        "bash",
        "zsh",
        "fish",
    ]
    assert complete_in_bash(tmp_path, text, ["sitless", "fleet", ""]) == ["config", "tare"]


def test_bash_completes_file_names_where_a_file_is_asked(tmp_path, capsys):
    text = script(capsys, "bash")
    (tmp_path / "site-a.toml").write_text("")
    assert complete_in_bash(tmp_path, text, ["sitless", "hub", "--config", "site-"]) == [
        "site-a.toml"
    ]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_name_every_sub_command(shell, tmp_path, capsys):
    text = script(capsys, shell)
    for name in SUBCOMMANDS:
        assert name in text, name
    program = shutil.which(shell)
    if program is not None:  # the shell's own parser reads the script
        path = tmp_path / f"sitless.{shell}"
        path.write_text(text)
        done = subprocess.run(
            [program, "-n", str(path)], capture_output=True, text=True, check=False, timeout=30
        )
        assert done.returncode == 0, done.stderr


def test_an_unknown_shell_is_refused_with_the_choices(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["completion", "powershell"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'powershell'" in err
    assert "bash" in err
