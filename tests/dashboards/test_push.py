"""``sitless dashboards push`` against a recording stand-in for Grafana.

Real: the command line, grafana-client and its HTTP stack, a real HTTP server
on loopback, the shipped dashboard files. Stood in: Grafana itself, which is
not available where the tests run; ``RecordingGrafana`` answers the few API
calls a push makes, keeps what was written by uid as Grafana does, checks the
bearer token and records every call.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub import cli
from hub.integrations.grafana import push
from tests.dashboards.recording_grafana import RecordingGrafana
from tests.support.servers import free_port

TOKEN = "glsa_test-token-0123456789"  # noqa: S105 - a token the stand-in accepts, not a secret
INFLUX_TOKEN = "influx-token-abcdef"  # noqa: S105 - same
DASHBOARD_FILES = sorted(push.DEFAULT_DASHBOARDS.glob("*.json"))


@pytest.fixture
def grafana() -> Iterator[RecordingGrafana]:
    server = RecordingGrafana(TOKEN)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def hub_config(tmp_path: Path) -> Path:
    path = tmp_path / "sitless.toml"
    path.write_text(
        '[history]\napi = "v2"\nurl = "http://influxdb:8086"\norg = "office"\n'
        f'bucket = "sitless"\ntoken = "{INFLUX_TOKEN}"\n'
    )
    return path


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "grafana-token"
    path.write_text(TOKEN + "\n")
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli.main(argv)
    out = capsys.readouterr()
    return code, out.out + out.err


def test_push_twice_creates_once_then_updates_in_place(grafana, hub_config, token_file, capsys):
    """Pushing twice leaves one folder, one datasource and one copy of each dashboard."""
    argv = [
        "dashboards",
        "push",
        "--url",
        grafana.url,
        "--token-file",
        str(token_file),
        "--config",
        str(hub_config),
    ]
    assert run(argv, capsys)[0] == 0
    first = [(c.method, c.path) for c in grafana.state.calls]
    assert ("POST", "/api/folders") in first
    assert ("POST", "/api/datasources") in first
    assert first.count(("POST", "/api/dashboards/db")) == len(DASHBOARD_FILES) == 3

    grafana.state.calls.clear()
    assert run(argv, capsys)[0] == 0
    second = [(c.method, c.path) for c in grafana.state.calls]
    assert ("POST", "/api/folders") not in second
    assert ("POST", "/api/datasources") not in second
    assert ("PUT", f"/api/datasources/uid/{push.DATASOURCE_UID}") in second
    assert second.count(("POST", "/api/dashboards/db")) == 3

    state = grafana.state
    assert list(state.folders) == [push.FOLDER_UID]
    assert list(state.datasources) == [push.DATASOURCE_UID]
    shipped = {json.loads(p.read_text())["uid"] for p in DASHBOARD_FILES}
    assert set(state.dashboards) == shipped
    for body in state.dashboards.values():
        assert body["overwrite"] is True
        assert body["folderUid"] == push.FOLDER_UID
        assert body["dashboard"]["id"] is None
    assert all(c.authorization == f"Bearer {TOKEN}" for c in state.calls)


def test_datasource_comes_from_the_history_section(grafana, hub_config, token_file, capsys):
    """A v2 history server becomes an InfluxQL datasource on the bucket's DBRP mapping."""
    argv = [
        "dashboards",
        "push",
        "--url",
        grafana.url,
        "--token-file",
        str(token_file),
        "--config",
        str(hub_config),
        "--influx-url",
        "http://influx.internal:8086",
    ]
    assert run(argv, capsys)[0] == 0
    ds = grafana.state.datasources[push.DATASOURCE_UID]
    assert ds["type"] == "influxdb"
    assert ds["url"] == "http://influx.internal:8086"
    assert ds["jsonData"]["dbName"] == "sitless"
    assert ds["jsonData"].get("version", "InfluxQL") == "InfluxQL"
    assert ds["jsonData"]["httpHeaderName1"] == "Authorization"
    assert ds["secureJsonData"]["httpHeaderValue1"] == f"Token {INFLUX_TOKEN}"


def test_the_personal_boards_days_are_the_hubs(grafana, tmp_path, token_file, capsys):
    """The hub's schedule.timezone becomes the personal board's time zone for its days."""
    path = tmp_path / "berlin.toml"
    path.write_text(
        '[schedule]\ntimezone = "Europe/Berlin"\n[history]\napi = "v1"\n'
        'url = "http://influxdb:8086"\ndatabase = "sitless"\n'
    )
    argv = ["dashboards", "push", "--url", grafana.url, "--token-file", str(token_file)]
    assert run([*argv, "--config", str(path)], capsys)[0] == 0
    board = grafana.state.dashboards["sitless-my-sitting"]["dashboard"]
    (zone,) = [v for v in board["templating"]["list"] if v["name"] == "timezone"]
    assert zone["query"] == zone["current"]["value"] == "Europe/Berlin"
    shipped = json.loads((push.DEFAULT_DASHBOARDS / "my-sitting.json").read_text())
    assert [v["query"] for v in shipped["templating"]["list"] if v["name"] == "timezone"] == [
        "UTC"
    ]  # the file itself is untouched


def test_token_from_the_environment_and_no_datasource(grafana, monkeypatch, capsys):
    """GRAFANA_TOKEN works instead of a file; --no-datasource leaves datasources alone."""
    monkeypatch.setenv("GRAFANA_TOKEN", TOKEN)
    code, _ = run(["dashboards", "push", "--url", grafana.url, "--no-datasource"], capsys)
    assert code == 0
    assert grafana.state.datasources == {}
    assert len(grafana.state.dashboards) == 3


def test_refused_token_is_exit_2_and_never_printed(grafana, hub_config, tmp_path, capsys):
    """A token Grafana refuses gives one clear line, exit 2, and the token stays out of it."""
    wrong = tmp_path / "wrong-token"
    wrong.write_text("glsa_wrong-secret-value")
    code, output = run(
        [
            "dashboards",
            "push",
            "--url",
            grafana.url,
            "--token-file",
            str(wrong),
            "--config",
            str(hub_config),
        ],
        capsys,
    )
    assert code == 2
    assert "refused the token (HTTP 401)" in output
    assert "glsa_wrong-secret-value" not in output
    assert INFLUX_TOKEN not in output
    assert grafana.state.dashboards == {}


def test_unreachable_grafana_is_exit_3(hub_config, token_file, capsys):
    """Nothing listens on the port: exit 3 naming the URL, without credentials in it."""
    url = f"http://user:hunter2@127.0.0.1:{free_port()}"
    code, output = run(
        [
            "dashboards",
            "push",
            "--url",
            url,
            "--token-file",
            str(token_file),
            "--config",
            str(hub_config),
            "--timeout",
            "5",
        ],
        capsys,
    )
    assert code == 3
    assert "cannot reach Grafana at http://127.0.0.1:" in output
    assert "hunter2" not in output
    assert TOKEN not in output


@pytest.mark.parametrize(
    "url", ["ftp://grafana:21", "grafana:3000", "http://:3000", "http://grafana:99999"]
)
def test_bad_url_is_a_usage_error(url, token_file, capsys):
    """A URL that cannot be Grafana's is refused before any request, with exit 2."""
    code, output = run(
        ["dashboards", "push", "--url", url, "--token-file", str(token_file), "--no-datasource"],
        capsys,
    )
    assert code == 2
    assert "--url" in output


def test_missing_token_and_missing_history_are_usage_errors(
    grafana, monkeypatch, tmp_path, token_file, capsys
):
    """No token anywhere, or no InfluxDB in [history], each give exit 2 and say which."""
    monkeypatch.delenv("GRAFANA_TOKEN", raising=False)
    code, output = run(["dashboards", "push", "--url", grafana.url, "--no-datasource"], capsys)
    assert (code, "no Grafana token" in output) == (2, True)
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    code, output = run(
        [
            "dashboards",
            "push",
            "--url",
            grafana.url,
            "--token-file",
            str(token_file),
            "--config",
            str(empty),
        ],
        capsys,
    )
    assert (code, "no InfluxDB configured" in output) == (2, True)
    assert grafana.state.calls == []


def test_help_describes_push_and_its_exit_codes(capsys):
    """`--help` works at both levels and names the exit codes."""
    for argv in (["dashboards", "--help"], ["dashboards", "push", "--help"]):
        with pytest.raises(SystemExit) as stopped:
            cli.main(argv)
        assert stopped.value.code == 0
    assert "3 Grafana unreachable" in " ".join(capsys.readouterr().out.split())
