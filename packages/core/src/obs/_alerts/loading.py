"""From what users pass (``configure(alerts=..., alert_channels=...)``, a TOML or JSON file,
``OBS_ALERTS_FILE``) to one checked ``AlertConfig``."""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from obs._alerts.channels import (
    Channel,
    ConsoleChannel,
    Webhook,
    channel_from_spec,
    resolve_channels,
)
from obs._alerts.queries import DEFAULT_QUERY_BUDGET_S
from obs._alerts.rules import AlertRule, Rule, parse_rule
from obs._alerts.vocabulary import RuleError, parse_duration

DEFAULT_INTERVAL_S = 10.0


@dataclass(frozen=True)
class AlertConfig:
    rules: tuple[Rule, ...]
    interval_s: float = DEFAULT_INTERVAL_S
    #: How long a silent holder keeps the lease; default 3 intervals, at least 10 s.
    lease_ttl_s: float | None = None
    query_budget_s: float = DEFAULT_QUERY_BUDGET_S

    @property
    def ttl_s(self) -> float:
        return self.lease_ttl_s or max(3 * self.interval_s, 10.0)


AlertsOption = (
    bool
    | str
    | os.PathLike[str]
    | AlertRule
    | Sequence[AlertRule | Mapping[str, Any]]
    | Mapping[str, Any]
    | None
)

_SETTINGS = {
    "rules": "rules",
    "alerts": "rules",
    "channels": "channels",
    "alert_channels": "channels",
    "interval": "interval",
    "evaluation_interval": "interval",
    "interval_s": "interval",
    "every": "interval",
    "lease_ttl": "lease_ttl",
    "lease_ttl_s": "lease_ttl",
    "query_timeout": "query_timeout",
    "query_timeout_s": "query_timeout",
}


def load_file(path: str | os.PathLike[str]) -> Any:
    """A rules file: ``.toml`` or ``.json`` (other names: JSON, then TOML)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError(f"obs: alerts file {path}: cannot read it ({exc.strerror})") from None
    if path.suffix.lower() != ".toml":
        try:
            return json.loads(text)
        except ValueError as exc:
            if path.suffix.lower() == ".json":
                raise RuleError(f"obs: alerts file {path}: invalid JSON ({exc})") from None
    try:
        tomllib: Any = importlib.import_module("tomllib")
    except ImportError:  # Python 3.10
        raise RuleError(
            f"obs: alerts file {path}: TOML needs Python 3.11 or later; write JSON instead"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"obs: alerts file {path}: invalid TOML ({exc})") from None


def load_config(
    alerts: AlertsOption, alert_channels: Mapping[str, Any] | None = None
) -> AlertConfig | None:
    """The checked configuration, or None when there are no alerts. Raises ``RuleError``."""
    if alerts is None:
        env = os.environ.get("OBS_ALERTS_FILE", "").strip()
        if not env:
            if alert_channels:
                raise RuleError("obs: alert_channels given without alerts=")
            return None
        alerts = env
    if alerts is False:
        return None
    if alerts is True:
        raise RuleError("obs: alerts=True: give the rules (a list, a dict or a file path)")
    if isinstance(alerts, (str, os.PathLike)):
        alerts = load_file(alerts)
    if isinstance(alerts, AlertRule):
        alerts = [alerts]
    settings: dict[str, Any] = {}
    if isinstance(alerts, Mapping):
        if any(str(k).lower() in _SETTINGS for k in alerts) or not alerts:
            for key, value in alerts.items():
                canonical = _SETTINGS.get(str(key).lower())
                if canonical is None:
                    raise RuleError(f"obs: alerts: unknown setting {key!r}")
                settings[canonical] = value
            rules: Any = settings.get("rules", [])
        else:
            # {"High error rate": {...}, ...}: rules keyed by their names.
            rules = []
            for name, body in alerts.items():
                if isinstance(body, AlertRule):
                    rules.append(body)
                elif isinstance(body, Mapping):
                    rules.append({"name": name, **body})
                else:
                    raise RuleError(f"obs: alert rule {name!r}: expected a dict, not {body!r}")
    else:
        rules = alerts
    if isinstance(rules, (str, bytes)) or not isinstance(rules, Sequence):
        raise RuleError(f"obs: alerts: expected a list of rules, not {type(rules).__name__}")

    named = _named_channels({**dict(settings.get("channels") or {}), **dict(alert_channels or {})})

    def channels_for(value: Any, where: str) -> tuple[Channel, ...]:
        return resolve_channels(value, where, named)

    parsed: list[Rule] = []
    seen: set[str] = set()
    for index, spec in enumerate(rules):
        rule = parse_rule(spec, index, channels_for)
        if rule.name in seen:
            raise RuleError(f"obs: alert rule {rule.name!r}: two rules have this name")
        seen.add(rule.name)
        parsed.append(rule)
    if not parsed:
        return None

    interval = settings.get("interval", os.environ.get("OBS_ALERTS_INTERVAL") or DEFAULT_INTERVAL_S)
    interval_s = parse_duration(interval, "obs: alerts setting 'interval'")
    assert interval_s is not None
    if interval_s < 0.05:
        raise RuleError("obs: alerts setting 'interval': at least 0.05 seconds")
    ttl = parse_duration(
        settings.get("lease_ttl"), "obs: alerts setting 'lease_ttl'", allow_none=True
    )
    if ttl is not None and ttl <= interval_s:
        raise RuleError("obs: alerts setting 'lease_ttl': must be longer than the interval")
    budget = parse_duration(
        settings.get("query_timeout", DEFAULT_QUERY_BUDGET_S), "obs: alerts setting 'query_timeout'"
    )
    return AlertConfig(
        rules=tuple(parsed),
        interval_s=interval_s,
        lease_ttl_s=ttl,
        query_budget_s=budget or DEFAULT_QUERY_BUDGET_S,
    )


def _named_channels(specs: Mapping[str, Any]) -> dict[str, Channel]:
    named: dict[str, Channel] = {"console": ConsoleChannel(), "log": ConsoleChannel()}
    for name, spec in specs.items():
        where = f"obs: alert channel {name!r}"
        if not isinstance(name, str) or not name.strip():
            raise RuleError(f"{where}: a channel needs a name")
        channel = channel_from_spec(spec, where, name)
        if isinstance(channel, Webhook) and channel.name is None:
            channel = type(channel)(channel.url, channel.headers, name, channel.timeout_s)
        named[name] = channel
    return named
