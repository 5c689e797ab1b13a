"""The real headless Chromium of the status page tests, shared with the role tests."""

from tests.demo.conftest import browser

__all__ = ["browser"]
