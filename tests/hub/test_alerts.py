"""Alert words, commands and Apprise notifications.

Real: hub.core.alerts, the actions that send an alert, Apprise posting to HTTP
servers this test runs on loopback, the cmd JSON Schema. Stood in: the batch
commit, by a list of what it was handed.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import jsonschema

from hub import config
from hub.contract import protocol
from hub.core import alerts
from hub.core.actions import Actions
from hub.core.counters import Counters
from hub.core.decisions import SendAlert
from hub.core.facts import AlertSent
from hub.core.ports import NullHistory
from hub.integrations import notify
from tests.support.waiting import wait_until

SCHEMAS = Path(__file__).resolve().parents[2] / "hub" / "schemas"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_catalogue_covers_the_recommended_movements():
    text = " ".join(alerts.MOVES).lower()
    for word in (
        "walk",
        "stairs",
        "hamstring",
        "10 s each leg",
        "30 s",
        "glute squeeze",
        "3 sets of 10",
        "hold 3 s",
        "12 to 15",
        "squats",
        "leg lifts",
        "glute bridges",
    ):
        assert word in text, word


def test_rotation_walks_the_whole_catalogue_per_desk():
    rotation = alerts.MoveRotation()
    first = [rotation.next("a") for _ in alerts.MOVES]
    assert sorted(first) == sorted(alerts.MOVES)
    assert rotation.next("b") == alerts.MOVES[0]  # each desk has its own turn
    assert rotation.next("a") == first[0]


def test_commands_follow_the_contract():
    schema = json.loads((SCHEMAS / "cmd.json").read_text())
    ids = alerts.CommandIds()
    one, two = ids.next(), ids.next()
    assert one != two
    alert = json.loads(alerts.alert_command(one, 3, alerts.MOVES[2]))
    jsonschema.validate(alert, schema)
    assert alert == {"id": one, "action": "alert", "level": 3, "move": alerts.MOVES[2]}
    clear = json.loads(alerts.clear_command(two))
    jsonschema.validate(clear, schema)
    assert clear["action"] == "clear"


def test_alert_payloads_are_the_contract_encoders_bytes():
    """The alert payload is built from a tail encoded once per level and movement."""
    ids = ["h3fa2c1-1", "h3fa2c1-65536", "h000000-9", 'odd "id" \\ é']
    for level in (1, 2, 3):
        for move in alerts.MOVES:
            for cmd_id in ids:
                expected = protocol.command("alert", cmd_id, level=level, move=move)
                assert alerts.alert_command(cmd_id, level, move) == expected
    # Another movement than the catalogue's, and the cached tails unchanged by it.
    assert alerts.alert_command("x", 1, "Walk.") == protocol.command(
        "alert", "x", level=1, move="Walk."
    )
    assert alerts.alert_command("x", 1, alerts.MOVES[0]) == protocol.command(
        "alert", "x", level=1, move=alerts.MOVES[0]
    )


def test_notification_reaches_an_apprise_json_url(webhook):
    port = webhook.server_address[1]
    outcomes: list[str] = []
    notifier = notify.Notifier(on_result=outcomes.append)
    notifier.start()
    note = notify.alert_notification(
        "desk-1", 2, 1865, alerts.MOVES[3], [f"json://127.0.0.1:{port}/hook"]
    )
    assert notifier.submit(note)
    wait_until(lambda: webhook.posts, what="post")
    notifier.stop()
    post = webhook.posts[0]
    assert post["title"].startswith("sitless: desk-1")
    assert post["title"].endswith(": Squats")  # the movement is in the title too
    assert "31 min" in post["message"]
    assert alerts.MOVES[3] in post["message"]
    assert outcomes == ["sent"]


def test_unreachable_url_is_counted_and_the_worker_carries_on(webhook, caplog):
    port = webhook.server_address[1]
    dead = f"json://127.0.0.1:{closed_port()}/hook?secret=hunter2"
    outcomes: list[str] = []
    notifier = notify.Notifier(on_result=outcomes.append)
    notifier.start()
    notifier.submit(notify.alert_notification("d", 1, 60, "walk", [dead]))
    notifier.submit(
        notify.alert_notification("d", 1, 60, "walk", [f"json://127.0.0.1:{port}/hook"])
    )
    wait_until(lambda: len(outcomes) == 2, what="two outcomes")
    notifier.stop()
    assert outcomes == ["failed", "sent"]
    assert "hunter2" not in caplog.text


def test_a_slow_server_never_blocks_submit_and_overflow_is_counted(webhook):
    port = webhook.server_address[1]
    webhook.gate.clear()  # the server holds every request until released
    outcomes: list[str] = []
    notifier = notify.Notifier(queue_size=2, on_result=outcomes.append)
    notifier.start()
    note = notify.alert_notification("d", 1, 60, "walk", [f"json://127.0.0.1:{port}/hook"])
    accepted = [notifier.submit(note) for _ in range(6)]
    assert accepted.count(False) >= 3  # one in flight, two queued, the rest dropped
    assert outcomes.count("dropped") == accepted.count(False)
    webhook.gate.set()
    wait_until(lambda: outcomes.count("sent") == accepted.count(True), what="queued sent")
    notifier.stop()


def test_no_urls_means_nothing_is_queued():
    notifier = notify.Notifier()
    assert not notifier.submit(notify.alert_notification("d", 1, 60, "walk", []))


class HeldCommit:
    """Keeps what ``Actions`` hands the batch commit (the real one is tested with the service)."""

    def __init__(self) -> None:
        self.published: list[tuple[str, bytes, bool]] = []
        self.notes: list[notify.Notification] = []
        self.facts: list[object] = []
        self.holding = False

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        self.published.append((topic, payload, retain))

    def notify(self, note: notify.Notification) -> None:
        self.notes.append(note)

    def record(self, fact: object) -> None:
        self.facts.append(fact)


def test_an_alert_notifies_the_hubs_urls_and_the_desks_own():
    cfg = config.from_mapping(
        {
            "mqtt": {"url": "mqtt://127.0.0.1:1", "prefix": "p"},
            "notify": {"urls": ["json://127.0.0.1:1/all"]},
            "desks": {"desk-a": {"notify": ["json://127.0.0.1:1/a"]}},
        }
    )
    commit = HeldCommit()
    actions = Actions(cfg, NullHistory(), Counters(), commit)  # type: ignore[arg-type]
    for desk in ("desk-a", "desk-b"):
        fact = AlertSent(desk, 100.0, 1, 600.0)
        actions.carry_out("p", desk, [SendAlert(desk, 1, 600.0, fact)])
    assert [n.urls for n in commit.notes] == [
        ("json://127.0.0.1:1/all", "json://127.0.0.1:1/a"),
        ("json://127.0.0.1:1/all",),
    ]
    assert [t for t, _, _ in commit.published] == ["p/desk-a/cmd", "p/desk-b/cmd"]
    assert [f.desk for f in commit.facts] == ["desk-a", "desk-b"]  # type: ignore[attr-defined]
