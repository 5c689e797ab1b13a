"""Alert words, commands and Apprise notifications.

Real: hub.core.alerts, Apprise posting to HTTP servers this test runs on loopback,
the cmd JSON Schema. Stood in: nothing.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import jsonschema

from hub.core import alerts
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
