"""Builds the page's gate and privacy settings from the hub configuration.

Kept out of the server's imports: ``hub.config`` imports the page's access
models, so the server itself must not import ``hub.config``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from hub.config import HubConfig
from hub.history.accounting import standing_reader
from hub.web.auth import FailureBrake, LinkSigner, Sessions, link_key, link_key_path
from hub.web.gate import Account, Gate
from hub.web.guard import Counters, allowed_hosts
from hub.web.ops import OperationsSource
from hub.web.personal import Personal, PersonalRules
from hub.web.server import StatusServer
from hub.web.source import StatusSource
from hub.web.views import Privacy

logger = logging.getLogger(__name__)


def build_gate(cfg: HubConfig, counters: Counters | None = None) -> Gate:
    """The gate for the configured accounts, Host names and links."""
    status = cfg.status
    accounts = {
        name: Account(
            name,
            user.role,
            user.desk,
            user.password_hash.get_secret_value() if user.password_hash else None,
            user.token_hash.get_secret_value() if user.token_hash else None,
        )
        for name, user in cfg.users.items()
    }
    links = None
    if accounts and status.desk_links:
        links = LinkSigner(link_key(link_key_path(Path(cfg.state_dir))))
    if not accounts:
        logger.warning(
            "status page: no [users] configured, so it listens on %s only and anyone on this "
            "machine sees every desk",
            status.host,
        )
    return Gate(
        accounts,
        hosts=allowed_hosts(status.host, status.hosts),
        links=links,
        sessions=Sessions(lifetime_s=status.session_lifetime),
        brake=FailureBrake(burst=status.login_burst),
        counters=counters,
        metrics_open=status.metrics == "open",
        cookie_secure=status.cookie_secure,
    )


def build_privacy(cfg: HubConfig) -> Privacy:
    """The page's share of the history privacy settings."""
    return Privacy(cfg.history.privacy == "aggregate", cfg.history.min_group)


def start_page(
    cfg: HubConfig, source: StatusSource, operations: OperationsSource | None = None
) -> StatusServer:
    """The status page for the configured access, started (``operations``: health, metrics)."""
    status = cfg.status
    return StatusServer(
        source,
        status.host,
        status.port,
        gate=build_gate(cfg),
        privacy=build_privacy(cfg),
        max_connections=status.max_connections,
        idle_timeout=status.idle_timeout,
        operations=operations,
        me=build_personal(cfg),
    ).start()


def build_personal(cfg: HubConfig) -> Personal:
    """The personal page's rules and break accounting."""
    sit = cfg.sitting
    rules = PersonalRules(
        sit.limit,
        sit.escalate_after,
        sit.snooze,
        sit.max_snoozes,
        sit.strict,
        sit.pause,
        cfg.schedule.timezone if cfg.schedule else "UTC",
    )
    return Personal(rules, standing_reader(cfg))
