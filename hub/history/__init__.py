"""The hub's history: facts into a durable local spool, then into InfluxDB.

See docs/history.md for what is stored, for how long, and who can read it.
"""

from hub.history.recorder import History

__all__ = ["History"]
