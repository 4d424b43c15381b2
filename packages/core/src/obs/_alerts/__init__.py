"""Alerting from the local store, with nothing else to run.

Rules (``configure(alerts=...)``, a TOML/JSON file or ``OBS_ALERTS_FILE``) are evaluated over
the shared span store by exactly one process at a time (a lease in the store), on a daemon
thread or under ``obs alerts run``; incidents fire once, repeat at an interval, resolve once,
and are delivered off the application's path to webhooks, Slack or the log.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from obs._alerts.channels import ConsoleChannel, Notification, SlackWebhook, Webhook, mask_url
from obs._alerts.loading import AlertConfig, AlertsOption, load_config, load_file
from obs._alerts.rules import AlertRule, Rule
from obs._alerts.state import DDL
from obs._alerts.status import alert_status
from obs._alerts.vocabulary import RuleError
from obs._scrubbing import Scrubber

if TYPE_CHECKING:  # the evaluator (threads, HTTP, ssl) is imported when alerts are used
    from obs._alerts.evaluator import Evaluator

__all__ = [
    "DDL",
    "AlertConfig",
    "AlertRule",
    "AlertsOption",
    "ConsoleChannel",
    "Notification",
    "Rule",
    "RuleError",
    "SlackWebhook",
    "Webhook",
    "alert_status",
    "current",
    "load_config",
    "load_file",
    "mask_url",
    "prepare",
    "start",
    "stop",
]

_lock = threading.Lock()
_current: Evaluator | None = None


def prepare(
    alerts: AlertsOption,
    alert_channels: Mapping[str, Any] | None,
    store_path: Path | None,
) -> AlertConfig | None:
    """Check ``configure(alerts=..., alert_channels=...)`` before anything is built.

    Raises ``ValueError`` naming the rule and field; None when there are no alerts.
    """
    config = load_config(alerts, alert_channels)
    if config is not None and store_path is None:
        raise ValueError(
            "obs: alerts are evaluated over the local store, which is off (OTLP export is on): "
            "pass store=True too, or use the Prometheus rules in the README"
        )
    return config


def start(
    config: AlertConfig | None, *, store_path: Path | None, scrubber: Scrubber | None
) -> Evaluator | None:
    """(Re)start this process's evaluator for ``config`` (stopping the previous one)."""
    global _current
    with _lock:
        previous, _current = _current, None
    if previous is not None:
        previous.stop()
    if config is None or store_path is None:
        return None
    from obs._alerts.evaluator import Evaluator

    evaluator = Evaluator(config, store_path, scrubber=scrubber).start()
    with _lock:
        _current = evaluator
    return evaluator


def current() -> Evaluator | None:
    return _current


def stop() -> None:
    """Stop this process's evaluator (``obs.shutdown()``); bounded, hands the lease back."""
    global _current
    with _lock:
        evaluator, _current = _current, None
    if evaluator is not None:
        evaluator.stop()


def _forget_after_fork() -> None:
    # The evaluator thread does not exist in a forked child, and its SQLite connections must
    # not be used there; the parent keeps the lease. A child that wants its own evaluator
    # calls obs.configure() again.
    global _current, _lock
    _current = None
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
