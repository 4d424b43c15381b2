"""Where notifications go: a generic JSON webhook, a Slack incoming webhook, the log.

A webhook URL is a secret (a Slack incoming-webhook URL is the credential itself): it is never
shown whole, in logs, in ``repr`` or in ``obs alerts``; only its scheme and host are.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from obs._alerts.vocabulary import RuleError, format_duration, format_value
from obs._scrubbing import Scrubber

DEFAULT_TIMEOUT_S = 5.0
_SLACK_HOSTS = ("hooks.slack.com", "hooks.slack-gov.com")


def mask_url(url: str) -> str:
    """``https://hooks.slack.com/…``: scheme and host only; path, query and user dropped."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid url>"
    return f"{parts.scheme}://{host}{port}/…"


def _check_url(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RuleError(f"{where}: a webhook needs a 'url'")
    url = value.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise RuleError(f"{where}: {mask_url(url)} is not a valid URL") from None
    # Only HTTP(S): a file:// or ftp:// "webhook" would read or reach what it should not.
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RuleError(f"{where}: a webhook URL must be http:// or https://, not {mask_url(url)}")
    return url


@dataclass(frozen=True)
class Webhook:
    """POST the JSON payload (README "Alerts") to ``url``."""

    url: str
    headers: Mapping[str, str] = field(default_factory=dict, hash=False)
    name: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S

    kind = "webhook"

    def __repr__(self) -> str:  # the URL is a secret
        return f"{type(self).__name__}({self.label!r})"

    @property
    def label(self) -> str:
        return f"{self.name or self.kind} {mask_url(self.url)}"

    def body(self, notification: Notification) -> dict[str, Any]:
        return notification.payload()


@dataclass(frozen=True, repr=False)
class SlackWebhook(Webhook):
    """A Slack (or Slack-compatible: Mattermost, Rocket.Chat) incoming webhook."""

    kind = "slack"

    def body(self, notification: Notification) -> dict[str, Any]:
        text = notification.summary()
        details = [
            f"*value* {notification.value_text}",
            f"*threshold* {notification.comparison} {notification.threshold_text}",
            f"*window* {notification.window_text}",
        ]
        if notification.group:
            details.append(
                "*group* " + ", ".join(f"{k}={v}" for k, v in notification.group.items())
            )
        if notification.example_trace_id:
            details.append(f"*example trace* `{notification.example_trace_id}`")
        details.append(f"*since* {_iso(notification.started_ns)}")
        return {
            "text": text,
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": f"*{_escape(text)}*"}},
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": _escape("\n".join(details))},
                },
                {
                    "type": "context",
                    "elements": [
                        {
                            "type": "mrkdwn",
                            "text": _escape(f"obs on {notification.host}: {notification.store}"),
                        }
                    ],
                },
            ],
        }


@dataclass(frozen=True)
class ConsoleChannel:
    """Log the notification on the ``obs.alerts`` logger (at WARNING)."""

    name: str | None = None
    kind = "console"

    @property
    def label(self) -> str:
        return self.name or "console"


Channel = Webhook | ConsoleChannel


def _escape(text: str) -> str:
    # Slack mrkdwn control characters: a value from the store must not become a link or mention.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _iso(ns: int | None) -> str | None:
    if ns is None:
        return None
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Notification:
    """One state change of one incident, as every channel renders it."""

    rule: str
    state: str  # "firing" or "resolved"
    metric: str
    value: float | None
    threshold: float
    comparison: str
    unit: str
    window_s: float
    group: Mapping[str, Any]
    incident_id: int
    started_ns: int
    at_ns: int
    resolved_ns: int | None = None
    repeat: bool = False
    example_trace_id: str | None = None
    store: str = ""
    host: str = ""
    description: str = ""

    @property
    def value_text(self) -> str:
        return format_value(self.value, self.unit)

    @property
    def threshold_text(self) -> str:
        return format_value(self.threshold, self.unit)

    @property
    def window_text(self) -> str:
        return format_duration(self.window_s)

    def summary(self) -> str:
        group = ", ".join(f"{k}={v}" for k, v in self.group.items())
        state = "RESOLVED" if self.state == "resolved" else "FIRING"
        if self.repeat:
            state += " (still)"
        return (
            f"[{state}] {self.rule}: {self.metric} {self.value_text} "
            f"({self.comparison} {self.threshold_text} over {self.window_text})"
            + (f" [{group}]" if group else "")
        )

    def payload(self) -> dict[str, Any]:
        """The generic webhook's JSON body (documented in the README)."""
        return {
            "source": "obs",
            "version": 1,
            "rule": self.rule,
            "state": self.state,
            "repeat": self.repeat,
            "summary": self.summary(),
            "description": self.description,
            "metric": self.metric,
            "value": self.value,
            "threshold": self.threshold,
            "comparison": self.comparison,
            "unit": self.unit,
            "window_s": self.window_s,
            "group": dict(self.group),
            "incident_id": self.incident_id,
            "started_at": _iso(self.started_ns),
            "resolved_at": _iso(self.resolved_ns),
            "at": _iso(self.at_ns),
            "example_trace_id": self.example_trace_id,
            "store": self.store,
            "host": self.host,
        }

    def scrubbed(self, scrubber: Scrubber | None) -> Notification:
        """Strings that came from the store or the rule, through obs's scrubber."""
        if scrubber is None:
            return self
        found: list[str] = []

        def clean(path: str, text: str) -> str:
            return scrubber.scrub_text(path, text, found)

        group = {
            clean(f"group.{k}", str(k)): clean(f"group.{k}", v) if isinstance(v, str) else v
            for k, v in self.group.items()
        }
        return dataclasses.replace(
            self,
            rule=clean("rule", self.rule),
            description=clean("description", self.description),
            group=group,
        )


# -- channel specs -> channel objects -------------------------------------------------------


def _is_slack(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host in _SLACK_HOSTS


def channel_from_spec(spec: Any, where: str, name: str | None = None) -> Channel:
    """A channel from a URL, a dict (``{"type": "webhook", "url": ...}``) or a channel object."""
    if isinstance(spec, (Webhook, ConsoleChannel)):
        return spec
    if isinstance(spec, str):
        text = spec.strip()
        if text.lower() in ("console", "log", "logs", "stderr"):
            return ConsoleChannel(name)
        checked = _check_url(text, where)
        return (SlackWebhook if _is_slack(checked) else Webhook)(url=checked, name=name)
    if isinstance(spec, Mapping):
        fields = dict(spec)
        kind = str(fields.pop("type", fields.pop("kind", "")) or "").strip().lower()
        name = str(fields.pop("name", name) or "") or name
        if kind in ("console", "log", "logs", "stderr"):
            if fields:
                raise RuleError(f"{where}: the console channel takes no {sorted(fields)}")
            return ConsoleChannel(name)
        url: Any = fields.pop("url", None)
        env = fields.pop("url_env", None)
        if env is not None:
            # Keeps the secret out of a committed rules file.
            if url is not None:
                raise RuleError(f"{where}: give 'url' or 'url_env', not both")
            url = os.environ.get(str(env))
            if not url:
                raise RuleError(f"{where}: the environment variable {env!r} is not set")
        url = _check_url(url, where)
        headers = fields.pop("headers", {}) or {}
        if not isinstance(headers, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
        ):
            raise RuleError(f"{where}: 'headers' must map strings to strings")
        if any(re.search(r"[\r\n]", k + v) for k, v in headers.items()):
            raise RuleError(f"{where}: a header may not contain a line break")
        timeout = fields.pop("timeout", fields.pop("timeout_s", DEFAULT_TIMEOUT_S))
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or not 0 < timeout <= 60
        ):
            raise RuleError(f"{where}: 'timeout' must be a number of seconds in (0, 60]")
        if fields:
            raise RuleError(f"{where}: unknown channel field(s) {', '.join(sorted(fields))}")
        if kind in ("", "webhook", "http", "json"):
            cls: type[Webhook] = SlackWebhook if (kind == "" and _is_slack(url)) else Webhook
        elif kind in ("slack", "mattermost"):
            cls = SlackWebhook
        else:
            raise RuleError(f"{where}: unknown channel type {kind!r} (webhook, slack, console)")
        return cls(url=url, headers=dict(headers), name=name, timeout_s=float(timeout))
    raise RuleError(f"{where}: {spec!r} is not a channel (a name, a URL or a dict)")


def resolve_channels(value: Any, where: str, named: Mapping[str, Channel]) -> tuple[Channel, ...]:
    """A rule's ``channels``: names from ``alert_channels``, URLs, dicts or channel objects.

    No channels means the log (the console channel).
    """
    if value is None or value == () or value == []:
        return (ConsoleChannel(),)
    items = [value] if isinstance(value, (str, Mapping, Webhook, ConsoleChannel)) else value
    try:
        items = list(items)
    except TypeError:
        raise RuleError(f"{where}: expected a list of channels, not {value!r}") from None
    out: list[Channel] = []
    for item in items:
        if isinstance(item, str) and item.strip() in named:
            out.append(named[item.strip()])
        elif (
            isinstance(item, str)
            and "://" not in item
            and item.strip().lower()
            not in (
                "console",
                "log",
                "logs",
                "stderr",
            )
        ):
            known = ", ".join(sorted(named)) or "none declared"
            raise RuleError(f"{where}: no channel named {item!r} (alert_channels has: {known})")
        else:
            out.append(channel_from_spec(item, where))
    return tuple(dict.fromkeys(out))


def payload_bytes(channel: Webhook, notification: Notification) -> bytes:
    return json.dumps(channel.body(notification), ensure_ascii=False, default=str).encode()
