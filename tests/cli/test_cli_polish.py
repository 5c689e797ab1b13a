"""Command-line habits: ``-v`` on either side of the sub-command, durations such as ``1h30m``,
and list values from the environment written with commas.

Real: the ``sitless`` parser and commands, the hub's config loader and its
validation messages, the log setup. Stood in: the environment (a mapping
handed to the loader, as ``os.environ`` would be).
"""

from __future__ import annotations

import logging

import pytest

from hub import cli, config
from hub.errors import ConfigError


@pytest.mark.parametrize(
    ("argv", "level"),
    [
        (["check-config"], 0),
        (["-v", "check-config"], 1),
        (["check-config", "-v"], 1),
        (["check-config", "--verbose"], 1),
        (["-v", "check-config", "-v"], 2),
        (["check-config", "-vv"], 2),
    ],
)
def test_verbose_counts_wherever_it_is_written(argv, level, monkeypatch):
    seen = {}

    def setup(*_args, verbosity=0, **_kw):
        seen["verbosity"] = verbosity

    monkeypatch.setattr(cli.hublog, "setup", setup)
    assert cli.main(argv) == 0
    assert seen["verbosity"] == level


def test_verbose_after_a_nested_action_is_accepted():
    parser = cli.build_parser()
    args = parser.parse_args(["fleet", "config", "--all", "sitting_limit=30m", "-v"])
    assert cli.verbosity(args) == 1


def test_verbose_after_the_sub_command_turns_on_info_logging(capsys):
    assert cli.main(["check-config", "-v"]) == 0
    assert logging.getLogger("hub").getEffectiveLevel() <= logging.INFO
    assert "configuration is valid" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1h30m", 5400.0),
        ("1h 30m", 5400.0),
        ("2m30s", 150.0),
        ("1d2h", 93600.0),
        ("1.5h", 5400.0),
        ("90s", 90.0),
        ("45", 45.0),
        ("500ms", 0.5),
        ("1m500ms", 60.5),
        (" 30m ", 1800.0),
    ],
)
def test_durations_may_combine_units(text, seconds):
    assert config.parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text", ["", "h", "1x", "30m1h", "1h1h", "1h-30m", "m30", "1h,30m", "1 h 30", "-5m", "nan"]
)
def test_bad_durations_are_refused(text):
    with pytest.raises(ValueError, match="duration"):
        config.parse_duration(text)


def test_a_combined_duration_from_the_environment_reaches_the_rules():
    cfg = config.load(
        environ={"SITLESS_SITTING__LIMIT": "1h30m", "SITLESS_SITTING__SNOOZE": "7m30s"}
    )
    assert cfg.sitting.limit == 5400.0
    assert cfg.sitting.snooze == 450.0


def test_a_bad_duration_names_its_key():
    with pytest.raises(ConfigError) as exc:
        config.load(environ={"SITLESS_SITTING__LIMIT": "1h30x"})
    assert any(p.startswith("sitting.limit:") and "duration" in p for p in exc.value.problems)


def test_list_values_from_the_environment_may_be_comma_separated():
    cfg = config.load(
        environ={
            "SITLESS_NOTIFY__URLS": "json://a.example/x, json://b.example/y",
            "SITLESS_SCHEDULE__DAYS": "mon,tue,wed",
            "SITLESS_DESKS__DESK_1__NOTIFY": "json://c.example/z",
        }
    )
    assert [u.get_secret_value() for u in cfg.notify.urls] == [
        "json://a.example/x",
        "json://b.example/y",
    ]
    assert cfg.schedule is not None
    assert list(cfg.schedule.days) == ["mon", "tue", "wed"]
    assert [u.get_secret_value() for u in cfg.desks["desk_1"].notify] == ["json://c.example/z"]


def test_a_list_may_still_be_written_as_a_toml_array_for_values_with_commas():
    cfg = config.load(environ={"SITLESS_NOTIFY__URLS": '["json://a.example/?to=x,y"]'})
    assert [u.get_secret_value() for u in cfg.notify.urls] == ["json://a.example/?to=x,y"]


def test_several_prefixes_from_the_environment():
    cfg = config.load(environ={"SITLESS_MQTT__PREFIX": "site-a,site-b"})
    assert cfg.mqtt.prefixes == ["site-a", "site-b"]


def test_commas_in_a_plain_text_value_are_left_alone():
    cfg = config.load(environ={"SITLESS_MQTT__USERNAME": "hub,one"})
    assert cfg.mqtt.username == "hub,one"


def test_an_empty_list_from_the_environment():
    cfg = config.load(environ={"SITLESS_NOTIFY__URLS": ""})
    assert cfg.notify.urls == []


def test_a_bad_list_item_names_its_key():
    with pytest.raises(ConfigError) as exc:
        config.load(environ={"SITLESS_SCHEDULE__DAYS": "mon,funday"})
    assert any(p.startswith("schedule.days.1") for p in exc.value.problems), exc.value.problems
