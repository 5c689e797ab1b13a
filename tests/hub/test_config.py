"""Config loading and validation. Everything real: TOML files on disk, a fake environment dict."""

from pathlib import Path

import pytest

from hub import config
from hub.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sitless.toml"
    path.write_text(text)
    return path


def test_defaults_follow_the_evidence():
    cfg = config.load(None, environ={})
    assert cfg.sitting.limit == 1800
    assert cfg.sitting.min_break == 120
    assert cfg.sitting.escalate_after == 300
    assert cfg.sitting.snooze == 600
    assert cfg.sitting.max_snoozes == 3
    assert cfg.mqtt.prefixes == ["sitless"]
    assert cfg.history.api == "none"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("1h", 3600), (45, 45), ("2.5m", 150), ("1d", 86400)],
)
def test_durations(text, seconds):
    assert config.parse_duration(text) == seconds


def test_bad_duration_names_the_key(tmp_path):
    path = write(tmp_path, '[sitting]\nlimit = "half an hour"\n')
    with pytest.raises(ConfigError) as err:
        config.load(path, environ={})
    assert err.value.problems == ['sitting.limit: expected a duration like "30m"']


def test_unknown_key_is_refused(tmp_path):
    path = write(tmp_path, "[sitting]\nlimt = 10\n")
    with pytest.raises(ConfigError) as err:
        config.load(path, environ={})
    assert "sitting.limt: unknown key" in err.value.problems


def test_environment_overrides_file(tmp_path):
    path = write(tmp_path, '[sitting]\nlimit = "30m"\n[mqtt]\nprefix = "a/b"\n')
    cfg = config.load(
        path,
        environ={
            "SITLESS_SITTING__LIMIT": "45m",
            "SITLESS_MQTT__URL": "mqtt://broker:1884",
            "SITLESS_DESKS__D1__ZONE": "north",
        },
    )
    assert cfg.sitting.limit == 2700
    assert cfg.mqtt.host == "broker"
    assert cfg.mqtt.port == 1884
    assert cfg.mqtt.prefixes == ["a/b"]
    assert cfg.desk("d1").zone == "north"
    assert cfg.desk("unknown").zone == "default"


def test_the_setup_scripts_cache_variable_is_not_a_setting(tmp_path):
    """SITLESS_CACHE (where the setup scripts keep their installs) is left alone; a typo is not."""
    path = write(tmp_path, "")
    cfg = config.load(path, environ={"SITLESS_CACHE": "/somewhere", "SITLESS_CONFIG": str(path)})
    assert cfg.sitting.limit == 1800
    with pytest.raises(ConfigError) as err:
        config.load(path, environ={"SITLESS_CACHES": "/somewhere"})
    assert "caches: unknown key" in "\n".join(err.value.problems)


def test_bad_url_and_prefix(tmp_path):
    path = write(tmp_path, '[mqtt]\nurl = "http://x"\nprefix = "a/+/b"\n')
    with pytest.raises(ConfigError) as err:
        config.load(path, environ={})
    text = "\n".join(err.value.problems)
    assert "mqtt.url: expected a URL" in text
    assert "mqtt.prefix:" in text


def test_history_v2_requires_org_and_bucket(tmp_path):
    path = write(tmp_path, '[history]\napi = "v2"\nurl = "http://127.0.0.1:8086"\n')
    with pytest.raises(ConfigError) as err:
        config.load(path, environ={})
    assert any("org and bucket" in p for p in err.value.problems)


def test_secret_from_file_is_hidden(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("hunter2\n")
    path = write(tmp_path, f'[mqtt]\nusername = "hub"\npassword_file = "{secret}"\n')
    cfg = config.load(path, environ={})
    assert cfg.mqtt.password is not None
    assert cfg.mqtt.password.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(cfg)
    assert "hunter2" not in str(cfg.model_dump())


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        config.load(tmp_path / "nope.toml", environ={})
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load(write(tmp_path, "[sitting\n"), environ={})


def test_bad_desk_id_in_desks(tmp_path):
    path = write(tmp_path, '[desks."Bad Desk"]\nzone = "x"\n')
    with pytest.raises(ConfigError) as err:
        config.load(path, environ={})
    assert any("desk id 'Bad Desk'" in p for p in err.value.problems)
