"""The words users may write in a rule: metric names, comparisons, durations, thresholds and
their units, field names; and how values read back (``5%``, ``1.2s``, ``5m``)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">": lambda v, t: v > t,
    ">=": lambda v, t: v >= t,
    "<": lambda v, t: v < t,
    "<=": lambda v, t: v <= t,
    "==": lambda v, t: v == t,
    "!=": lambda v, t: v != t,
}
_COMPARISON_WORDS = {
    "=": "==",
    "gt": ">",
    "above": ">",
    "over": ">",
    "more_than": ">",
    "greater_than": ">",
    "ge": ">=",
    "gte": ">=",
    "at_least": ">=",
    "lt": "<",
    "below": "<",
    "under": "<",
    "less_than": "<",
    "le": "<=",
    "lte": "<=",
    "at_most": "<=",
    "eq": "==",
    "equals": "==",
    "ne": "!=",
    "not_equal": "!=",
}

#: Span sources: which spans a rule looks at (SQL over the ``spans`` table).
SOURCES = (
    "http",
    "messaging",
    "llm",
    "all",
    "server",
    "client",
    "consumer",
    "producer",
    "internal",
)
#: What a rule may filter or group by, and the column or attribute behind each.
DIMENSIONS: dict[str, str] = {
    "service": "service_name",
    "route": "http.route",
    "operation": "name",
    "model": "gen_ai.request.model",
    "destination": "messaging.destination.name",
}

# metric -> (unit, default source)
METRICS: dict[str, tuple[str, str]] = {
    "error_rate": ("ratio", "http"),
    "error_count": ("count", "http"),
    "count": ("count", "http"),
    "latency": ("s", "http"),  # with a percentile, or avg / max
    "tokens": ("tokens", "llm"),
    "input_tokens": ("tokens", "llm"),
    "output_tokens": ("tokens", "llm"),
    "cost": ("currency", "llm"),
    "message_failures": ("count", "messaging"),
    "message_failure_rate": ("ratio", "messaging"),
    "sql": ("", "all"),
}
_METRIC_ALIASES: dict[str, str] = {
    "error_ratio": "error_rate",
    "errors_rate": "error_rate",
    "error_percentage": "error_rate",
    "error_percent": "error_rate",
    "error_pct": "error_rate",
    "failure_rate": "error_rate",
    "errors": "error_count",
    "error_total": "error_count",
    "requests": "count",
    "request_count": "count",
    "calls": "count",
    "throughput": "count",
    "spans": "count",
    "total_tokens": "tokens",
    "token_usage": "tokens",
    "llm_tokens": "tokens",
    "prompt_tokens": "input_tokens",
    "completion_tokens": "output_tokens",
    "llm_cost": "cost",
    "cost_usd": "cost",
    "spend": "cost",
    "failed_messages": "message_failures",
    "message_errors": "message_failures",
    "messages_failed": "message_failures",
    "message_error_rate": "message_failure_rate",
    "query": "sql",
    "value": "sql",
}
_PERCENTILE = re.compile(
    r"^(?:(?:latency|duration|response_time)_)?p(?P<p>\d{1,2}(?:\.\d+)?)"
    r"(?:_(?:latency|duration|response_time))?$"
)
_AGGREGATE_LATENCY = re.compile(
    r"^(?:(?P<a>avg|mean|max)_(?:latency|duration)|(?:latency|duration)_(?P<b>avg|mean|max))$"
)
CONDITION = re.compile(
    r"^\s*(?P<metric>[A-Za-z_][\w.\- ]*?(?:\([^()]*\))?)\s*(?P<op>>=|<=|==|!=|=|>|<)\s*"
    r"(?P<currency>\$)?(?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)\s*"
    r"(?P<unit>%|ms|us|µs|s|sec|seconds?|m|min|minutes?)?"
    r"(?:\s+(?:over|in|within|per)\s+(?:the\s+last\s+)?(?P<window>[\w.]+))?\s*$",
    re.IGNORECASE,
)
_DURATION = re.compile(
    r"^\s*(?P<n>\d+\.?\d*|\.\d+)\s*(?P<unit>ms|us|µs|s|sec|secs|seconds?|m|min|mins|minutes?|"
    r"h|hr|hours?|d|days?)?\s*$",
    re.IGNORECASE,
)
_UNIT_SECONDS = {
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
}


class RuleError(ValueError):
    """A rule obs cannot run; the message names the rule and the field."""


def number_text(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "no data"
    if unit == "ratio":
        return f"{value * 100:.4g}%"
    if unit == "s":
        return f"{value * 1000:.4g}ms" if abs(value) < 1 else f"{value:.4g}s"
    return f"{value:.6g}"


def format_duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{number_text(seconds)}s"


# -- parsing -------------------------------------------------------------------------------


def parse_duration(value: Any, where: str, *, allow_none: bool = False) -> float | None:
    """Seconds from ``60``, ``"60s"``, ``"5m"``, ``"1h"``, ``"250ms"`` or a ``timedelta``."""
    if value is None or value is False:
        if allow_none:
            return None
        raise RuleError(f"{where}: a duration is required")
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        m = _DURATION.match(value)
        if m is None:
            raise RuleError(f"{where}: {value!r} is not a duration (e.g. 60, '60s', '5m', '1h')")
        seconds = float(m["n"]) * _UNIT_SECONDS[(m["unit"] or "s").lower()]
    else:
        raise RuleError(f"{where}: {value!r} is not a duration")
    if not math.isfinite(seconds) or seconds < 0:
        raise RuleError(f"{where}: {value!r} must be a finite, non-negative duration")
    return seconds


def canonical_metric(text: str) -> tuple[str, float | None, str]:
    """``(metric, percentile, aggregate)`` for a metric name; raises ``KeyError``."""
    key = text.strip().lower()
    inner = re.fullmatch(r"(\w+)\s*\(\s*(\w*)\s*\)", key)
    if inner:  # p95(latency), avg(duration), error_rate()
        fn, arg = inner.groups()
        key = f"{fn}_{arg}" if arg else fn
    key = re.sub(r"[\s.\-]+", "_", key)
    key = _METRIC_ALIASES.get(key, key)
    m = _PERCENTILE.match(key)
    if m:
        p = float(m["p"])
        if not 0 < p < 100:
            raise KeyError(text)
        return "latency", p, ""
    m = _AGGREGATE_LATENCY.match(key)
    if m:
        aggregate = m["a"] or m["b"]
        return "latency", None, "avg" if aggregate == "mean" else aggregate
    if key in ("latency", "duration"):
        raise KeyError(text)  # which statistic? say p95_latency, avg_latency...
    if key in METRICS:
        return key, None, ""
    raise KeyError(text)


def scale_threshold(metric: str, number: float, unit: str | None, where: str) -> float:
    unit = (unit or "").lower()
    if unit == "%":
        if metric not in ("error_rate", "message_failure_rate", "sql"):
            raise RuleError(f"{where}: '%' only makes sense for a rate, not {metric}")
        return number / 100.0
    if unit:
        if metric != "latency":
            raise RuleError(f"{where}: a time unit only makes sense for a latency, not {metric}")
        return number * _UNIT_SECONDS[unit]
    if metric in ("error_rate", "message_failure_rate") and number > 1:
        return number / 100.0  # "error_rate > 5" can only mean 5 %
    return number


def parse_threshold(metric: str, value: Any, where: str) -> float:
    if isinstance(value, bool) or value is None:
        raise RuleError(f"{where}: a threshold is required")
    if isinstance(value, (int, float)):
        number, unit = float(value), None
    elif isinstance(value, timedelta) and metric == "latency":
        return value.total_seconds()
    elif isinstance(value, str):
        m = re.fullmatch(
            r"\s*\$?([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)\s*(%|ms|us|µs|s|sec|seconds?|m|min)?\s*",
            value,
            re.IGNORECASE,
        )
        if m is None:
            raise RuleError(f"{where}: {value!r} is not a number (e.g. 0.05, '5%', '1s')")
        number, unit = float(m[1]), m[2]
    else:
        raise RuleError(f"{where}: {value!r} is not a number")
    if not math.isfinite(number):
        raise RuleError(f"{where}: {value!r} must be finite")
    return scale_threshold(metric, number, unit, where)


def parse_comparison(value: Any, where: str) -> str:
    text = str(value).strip().lower().replace(" ", "_")
    text = _COMPARISON_WORDS.get(text, text)
    if text not in COMPARISONS:
        raise RuleError(f"{where}: {value!r} is not a comparison (one of > >= < <= == !=)")
    return text


def strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise RuleError(f"{where}: expected a string or a list of strings, not {value!r}")


# Every spelling a rule field may have, mapped to the field it sets.
FIELD_ALIASES: dict[str, str] = {
    "name": "name",
    "condition": "condition",
    "expr": "condition",
    "expression": "condition",
    "when": "condition",
    "rule": "condition",
    "metric": "metric",
    "threshold": "threshold",
    "comparison": "comparison",
    "op": "comparison",
    "operator": "comparison",
    "window": "window",
    "window_s": "window",
    "window_seconds": "window",
    "period": "window",
    "over": "window",
    "channels": "channels",
    "channel": "channels",
    "notify": "channels",
    "to": "channels",
    "spans": "spans",
    "source": "spans",
    "kind": "spans",
    "group_by": "group_by",
    "by": "group_by",
    "per": "group_by",
    "for": "for_",
    "for_": "for_",
    "for_s": "for_",
    "pending": "for_",
    "consecutive": "consecutive",
    "evaluations": "consecutive",
    "resolve_after": "resolve_after",
    "resolve_after_s": "resolve_after",
    "cooldown": "resolve_after",
    "cool_down": "resolve_after",
    "repeat_interval": "repeat_interval",
    "repeat_interval_s": "repeat_interval",
    "repeat": "repeat_interval",
    "repeat_every": "repeat_interval",
    "renotify": "repeat_interval",
    "min_count": "min_count",
    "min_requests": "min_count",
    "min_samples": "min_count",
    "query": "query",
    "sql": "query",
    "input_price_per_1m": "input_price_per_1m",
    "output_price_per_1m": "output_price_per_1m",
    "price_per_1m": "price_per_1m",
    "description": "description",
    "summary": "description",
    "service": "service",
    "route": "route",
    "operation": "operation",
    "model": "model",
    "destination": "destination",
}
