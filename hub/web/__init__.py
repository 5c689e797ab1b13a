"""The live status page: desks at a glance, a JSON API, health and Prometheus metrics."""

from hub.web.server import StatusServer
from hub.web.source import DeskView, StaticSource, StatusSource

__all__ = ["DeskView", "StaticSource", "StatusServer", "StatusSource"]
