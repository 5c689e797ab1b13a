"""Home Assistant's own frontend in a real headless Chromium, signed in as the owner.

The frontend keeps its login in the browser's local storage (``hassTokens``):
stored there before the first page loads, a fresh access token from the
owner's refresh token signs it in as if the owner had just logged in. Its pages
draw inside shadow roots, so their text is read by walking every root.

The committed picture in docs/img/ is made by this code: set
``SCREENSHOT_HA_DEVICE`` to the file to write (docs/homeassistant.md).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from tests.support.browser import headless_chromium

if TYPE_CHECKING:
    from tests.homeassistant.hass import HomeAssistant

WIDTH, HEIGHT = 1280, 1660
# Not SITLESS_...: the hub takes every such variable for a configuration key.
SCREENSHOT_ENV = "SCREENSHOT_HA_DEVICE"

# Every text node under the body, shadow roots included, in document order.
_TEXT = """
const out = [];
const walk = (root) => {
  const it = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
  for (let n = it.currentNode; n; n = it.nextNode()) {
    if (n.nodeType === Node.TEXT_NODE) {
      const t = n.data.trim();
      if (t) out.push(t);
    } else if (n.shadowRoot) {
      walk(n.shadowRoot);
    }
  }
};
walk(document.body);
return out.join("\\n");
"""


def page_text(driver: object) -> str:
    """The visible words of the page, one text node a line."""
    return str(driver.execute_script(_TEXT))  # type: ignore[attr-defined]


def device_page(
    ha: HomeAssistant,
    device_id: str,
    profile: Path,
    out: Path,
    *,
    expect: Iterable[str],
    timeout: float = 60.0,
) -> str:
    """Open the device's page, wait until every expected text shows, save it as a PNG.

    Returns the page's text. The PNG is written even when a text never shows,
    so a failure can be looked at.
    """
    wanted = list(expect)
    driver = headless_chromium(profile, window=f"{WIDTH},{HEIGHT}")
    try:
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
        )
        driver.get(f"{ha.url}/auth/providers")  # a page of the origin, for its storage
        driver.execute_script(
            "localStorage.setItem('hassTokens', arguments[0]);", json.dumps(ha.browser_tokens())
        )
        driver.get(f"{ha.url}/config/devices/device/{device_id}")
        text = ""
        deadline = time.monotonic() + timeout
        try:
            while not all(word in (text := page_text(driver)) for word in wanted):
                if time.monotonic() > deadline:
                    missing = [w for w in wanted if w not in text]
                    msg = f"the device page never showed {missing}; it shows {text[:800]!r}"
                    raise AssertionError(msg)
                time.sleep(0.5)
            time.sleep(1.0)  # the cards' icons and fonts finish drawing
        finally:
            driver.save_screenshot(str(out))
        return text
    finally:
        driver.quit()


def keep_for_docs(shot: Path, version: str, versions: Iterable[str]) -> Path | None:
    """Copy the PNG where ``SCREENSHOT_HA_DEVICE`` says, from the newest version's run only."""
    target = os.environ.get(SCREENSHOT_ENV)
    newest = max(versions, key=lambda v: tuple(int(n) for n in v.split(".")))
    if not target or version != newest:
        return None
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, path)
    return path
