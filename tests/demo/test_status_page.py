"""The status page server and page, against a stand-in source of desks.

Real: the HTTP server on a loopback port, headless Chromium running the page's
JavaScript and its server-sent event stream, the Prometheus text parser.
Stood in: the hub (a StaticSource whose desks the test sets by hand), so the
page's own behaviour is pinned apart from the hub's rules.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from hub.web import DeskView, StaticSource, StatusServer

LIMITS = {"limit": 60.0, "min_break": 15.0, "escalate_after": 20.0}


def office() -> StaticSource:
    now = time.time()
    views = []
    states = ["seated", "vacant", "alerting", "snoozed", "paused", "offline", "seated", "vacant"]
    for i, state in enumerate(states):
        seated = state in ("seated", "alerting", "snoozed", "paused")
        views.append(
            DeskView(
                desk=f"desk-{i + 1:02d}",
                state=state,
                seated_s=40.0 + 9 * i if seated else 0.0,
                level=2 if state == "alerting" else (1 if state == "snoozed" else 0),
                since=now - 40 - 9 * i if seated else None,
                online=state != "offline",
                site="hq",
                floor="3" if i < 4 else "4",
                zone="north" if i % 4 < 2 else "south",
                today_seated_s=3600.0 + 60 * i,
                today_bouts=3 + i,
                today_alerts=i % 3,
                longest_bout_s=1500.0,
            )
        )
    return StaticSource(views)


@pytest.fixture
def source() -> StaticSource:
    return office()


@pytest.fixture
def server(source: StaticSource) -> Iterator[StatusServer]:
    with StatusServer(
        source, port=0, poll_s=0.1, title="sitless test office", limits=LIMITS
    ) as running:
        yield running


def get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode()


def card_state(browser, desk: str) -> str | None:
    cards = browser.find_elements(By.CSS_SELECTOR, f'.desk[data-desk="{desk}"]')
    return cards[0].get_attribute("data-state") if cards else None


def test_page_shows_desks_and_follows_a_change_live(server, source, browser, artifacts):
    """Chromium loads the page, shows every desk grouped by floor, and repaints one desk when
    its state changes at the source, without a reload (server-sent events)."""
    browser.get(server.url)
    wait = WebDriverWait(browser, 20, poll_frequency=0.1)
    wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, ".desk")) == 8)
    headings = browser.find_elements(By.CSS_SELECTOR, "section.floor > h2 > span")
    floors = [h.get_attribute("textContent") for h in headings]
    assert floors == ["Floor 3 · hq", "Floor 4 · hq"]
    assert card_state(browser, "desk-03") == "alerting"
    assert browser.find_element(By.ID, "live").get_attribute("data-live") == "live"
    # The bout clock ticks in the page between updates.
    clock = browser.find_element(By.CSS_SELECTOR, '.desk[data-desk="desk-01"] .clock')
    first = clock.text
    wait.until(lambda _b: clock.text != first)
    browser.save_screenshot(str(artifacts / "status-page-stand-in.png"))

    source.update("desk-02", state="seated", seated_s=0.0, since=time.time())
    wait.until(lambda b: card_state(b, "desk-02") == "seated")
    assert browser.find_element(By.ID, "n-seated").text == "3"
    source.update("desk-02", state="alerting", level=1, seated_s=61.0)
    wait.until(lambda b: card_state(b, "desk-02") == "alerting")
    assert browser.find_element(By.ID, "n-alerting").text == "2"

    browser.find_element(By.CSS_SELECTOR, '.desk[data-desk="desk-02"]').click()
    wait.until(lambda b: b.find_element(By.ID, "sheet").is_displayed())
    assert browser.find_element(By.ID, "sheet-title").text == "desk-02"
    assert browser.find_element(By.ID, "d-level").text == "1 of 3"
    assert browser.find_element(By.ID, "d-bouts").text == "4"
    browser.save_screenshot(str(artifacts / "status-page-details.png"))


def test_page_reads_well_on_a_phone(server, browser, artifacts):
    """At a phone's viewport the cards sit two to a row and nothing overflows sideways."""
    browser.set_window_size(390, 844)
    browser.get(server.url)
    WebDriverWait(browser, 20).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, ".desk")) == 8)
    overflow = browser.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    cards = browser.find_elements(By.CSS_SELECTOR, ".desk")
    tops = [c.location["y"] for c in cards[:2]]
    assert tops[0] == tops[1]  # two columns
    assert cards[0].size["width"] > 140
    browser.save_screenshot(str(artifacts / "status-page-phone.png"))
    # A phone in dark mode gets the dark palette.
    browser.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": "dark"}]},
    )
    background = browser.execute_script("return getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(15, 20, 25)"
    browser.save_screenshot(str(artifacts / "status-page-phone-dark.png"))


def test_api_health_and_metrics(server, source):
    """The JSON API lists every desk; /healthz answers; /metrics parses as Prometheus text with
    sitless_ names and the counts the source reports."""
    status, ctype, body = get(server.url + "api/desks")
    assert status == 200
    assert ctype == "application/json"
    data = json.loads(body)
    assert [d["desk"] for d in data["desks"]] == [f"desk-{i:02d}" for i in range(1, 9)]
    assert data["limits"] == LIMITS
    one = json.loads(get(server.url + "api/desks/desk-03")[2])["desk"]
    assert one["state"] == "alerting"
    assert one["ticking"] is True
    assert get(server.url + "api/desks/nope")[0] == 404

    status, _, body = get(server.url + "healthz")
    assert status == 200
    assert json.loads(body)["status"] == "ok"

    source.count("messages_in", 41)
    source.count("alerts_out", 3)
    source.count("spool_backlog", 7)
    status, ctype, text = get(server.url + "metrics")
    assert status == 200
    assert ctype.startswith("text/plain; version=0.0.4")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("sitless_messages_in_total", ())] == 41
    assert samples[("sitless_alerts_out_total", ())] == 3
    assert samples[("sitless_spool_backlog", ())] == 7
    assert samples[("sitless_desks_online", ())] == 7
    assert samples[("sitless_desks", (("state", "alerting"),))] == 1
    assert all(name.startswith(("sitless_", "process_")) for name, _ in samples)
    assert samples[("process_resident_memory_bytes", ())] > 0  # the process collector


def test_bad_paths_get_a_clear_error(server):
    """Unknown paths and static names that try to escape the folder are refused with a reason;
    pausing needs the anti-forgery header and a source that can pause."""
    for path in ("nope", "static/..%2Fconfig.py", "static/../config.py", "static/missing.css"):
        status, ctype, body = get(server.url + path)
        assert status == 404, path
        assert ctype == "application/json"
        assert json.loads(body)["error"]
    request = urllib.request.Request(server.url + "api/desks/desk-01/pause", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403
    request.add_header("X-Sitless", "1")
    with pytest.raises(urllib.error.HTTPError) as unsupported:
        urllib.request.urlopen(request, timeout=10)
    assert unsupported.value.code == 501
