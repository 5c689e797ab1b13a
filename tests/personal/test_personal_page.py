"""The personal page in a real browser: bout clock, alert with its movement, a notification.

Real: headless Chromium (phone and desktop sizes) driven through chromedriver,
the status page's HTTP server with its event stream, the service worker, the
break accounting read from a real SQLite spool that History wrote. Stood in:
the hub (a StaticSource whose desk the test changes by hand, with a pause
that sets the desk paused as the service would).
Screenshots are kept in the test's own temporary folder and in the shared
artifacts folder.
"""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from hub.core.alerts import MOVES
from hub.history import History
from hub.history.accounting import standing_reader
from hub.web import DeskView, StaticSource, StatusServer
from hub.web.personal import Personal, PersonalRules
from tests.history.helpers import make_cfg
from tests.personal.test_accounting import FRIDAY, _facts

MIN = 60.0


class PausingSource(StaticSource):
    """A stand-in hub whose pause does what the service's does to the desk's state."""

    def pause(self, desk: str) -> None:
        self.update(desk, state="paused")


@pytest.fixture
def page(tmp_path):
    cfg = make_cfg(tmp_path / "state", desks={"p1": {}})
    history = History(cfg)
    history.start()
    try:
        for fact in _facts():
            history.record(fact)
    finally:
        history.close()
    reader = standing_reader(cfg)
    source = PausingSource([DeskView("p1", "seated", seated_s=25 * MIN, today_seated_s=40 * MIN)])
    me = Personal(PersonalRules(), lambda desk, _today: reader(desk, FRIDAY))
    with StatusServer(source, poll_s=0.1, me=me) as server:
        yield server, source


def _text(browser, element_id):
    return browser.find_element(By.ID, element_id).text


def test_the_personal_page_on_a_phone_and_a_desktop(page, phone_browser, tmp_path, artifacts):
    server, source = page
    browser = phone_browser
    # Generous bounds: on a busy machine Chromium, its service worker and the event
    # stream each take seconds; every wait still ends at the first sign of success.
    wait = WebDriverWait(browser, 60)
    browser.set_script_timeout(60)
    browser.get(server.url + "me?desk=p1")
    wait.until(lambda b: _text(b, "live") == "live")
    assert _text(browser, "desk-name") == "p1"
    bout = _text(browser, "bout")
    assert bout.startswith("25:")
    assert _text(browser, "next-line").startswith("next alert in 4:") or _text(
        browser, "next-line"
    ).startswith("next alert in 5:")
    # Today's figures come from the accounting (Friday of the scripted week).
    assert _text(browser, "t-compliance") == "50 %"
    assert _text(browser, "t-breaks") == "1 / 2"
    assert _text(browser, "t-response") == "60 s"
    assert _text(browser, "t-streak") == "0 days"
    assert "3 of 4" in _text(browser, "week-line")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#chart .bar")) == 7
    assert len(browser.find_elements(By.CSS_SELECTOR, "#chart .bar.missed")) == 2  # Tue, Fri
    wait.until(lambda b: b.execute_script("return !!navigator.serviceWorker.controller"))

    source.update("p1", state="alerting", level=1, seated_s=30 * MIN, extra={"move": MOVES[2]})
    wait.until(lambda b: b.find_element(By.ID, "alert").is_displayed())
    assert _text(browser, "move-name") == "Glute squeeze"
    # Read in one go: the page redraws the steps every second, which would leave a list
    # of elements fetched one step earlier stale.
    steps = browser.execute_script(
        "return Array.from(document.querySelectorAll('#move-steps li'), (li) => li.innerText)"
    )
    assert "Hold about 3 s." in steps
    assert _text(browser, "move-dose") == "hold 3 s \u00b7 3 \u00d7 10"
    assert browser.find_element(By.ID, "snooze").is_enabled()
    shown = browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const look = () => navigator.serviceWorker.ready
          .then((r) => r.getNotifications())
          .then((list) => list.length ? done(list.map((n) => [n.title, n.body]))
                                      : setTimeout(look, 100));
        look();
        """
    )
    assert shown[0][0] == "Time to move: Glute squeeze"
    assert "Hold about 3 s." in shown[0][1]
    assert browser.execute_script("return Notification.permission") == "granted"
    phone = tmp_path / "me-phone.png"
    browser.save_screenshot(str(phone))

    browser.find_element(By.ID, "pause").click()
    wait.until(lambda b: "Paused" in _text(b, "note"))
    wait.until(lambda b: _text(b, "next-line") == "alerts wait; time still counts")
    assert not browser.find_element(By.ID, "alert").is_displayed()

    browser.set_window_size(1280, 900)
    desktop = tmp_path / "me-desktop.png"
    browser.save_screenshot(str(desktop))
    for shot in (phone, desktop):
        assert shot.stat().st_size > 5000
        shutil.copy(shot, artifacts / shot.name)


def test_the_personal_api_follows_strict_mode_and_names_the_desk(tmp_path):
    source = StaticSource([DeskView("p1", "alerting", seated_s=31 * MIN, level=1)])
    strict = Personal(PersonalRules(strict=True))
    with StatusServer(source, poll_s=0.1, me=strict) as server:
        body = json.load(urllib.request.urlopen(server.url + "api/me?desk=p1"))
        assert body["can_snooze"] is False
        assert body["snooze_refused"] == "strict mode: no snoozes"
        assert body["next_alert_s"] == pytest.approx(4 * MIN)
        request = urllib.request.Request(
            server.url + "api/me/snooze?desk=p1", method="POST", headers={"X-Sitless": "1"}
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request)
        assert refused.value.code == 409
        with pytest.raises(urllib.error.HTTPError) as unnamed:
            urllib.request.urlopen(server.url + "api/me")
        assert unnamed.value.code == 400
        with pytest.raises(urllib.error.HTTPError) as unknown:
            urllib.request.urlopen(server.url + "api/me?desk=p9")
        assert unknown.value.code == 404
