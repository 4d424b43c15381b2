"""Alert rules: what users write (``AlertRule``, dicts, condition strings) and what obs runs.

Users write rules in several natural spellings (``"error_rate > 5%"``, ``metric="error_rate",
threshold=0.05``, ``p95(latency) > 1s``); they all become one normalised, immutable ``Rule``.
A rule that cannot be understood fails at ``configure()`` with one line naming the rule and
the field, never later in a background thread.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from obs._alerts.channels import Channel

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
_CONDITION = re.compile(
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

ChannelRef = str | Mapping[str, Any] | Channel


class RuleError(ValueError):
    """A rule obs cannot run; the message names the rule and the field."""


@dataclass(frozen=True)
class AlertRule:
    """An alert rule, for those who prefer a typed object to a dict.

    Give either ``condition`` (``"error_rate > 5%"``, ``"p95_latency > 1s"``) or ``metric``
    with ``threshold`` (and ``comparison``, default ``">"``). Durations are seconds or strings
    such as ``"60s"``, ``"5m"``. See the README section "Alerts" for every field.
    """

    name: str
    condition: str | None = None
    metric: str | None = None
    threshold: float | str | None = None
    comparison: str | None = None
    window: float | str | timedelta = 60.0
    channels: Sequence[ChannelRef] = ()
    spans: str | None = None
    service: str | Sequence[str] | None = None
    route: str | Sequence[str] | None = None
    operation: str | Sequence[str] | None = None
    model: str | Sequence[str] | None = None
    destination: str | Sequence[str] | None = None
    group_by: str | Sequence[str] = ()
    for_: float | str | timedelta = 0.0
    consecutive: int = 1
    resolve_after: float | str | timedelta = 0.0
    repeat_interval: float | str | timedelta | None = 3600.0
    min_count: int = 1
    query: str | None = None
    input_price_per_1m: float | None = None
    output_price_per_1m: float | None = None
    description: str = ""


@dataclass(frozen=True)
class Rule:
    """A rule as obs runs it: every field checked and in canonical units."""

    name: str
    metric: str  # a key of METRICS
    comparison: str  # a key of COMPARISONS
    threshold: float
    window_s: float
    channels: tuple[Channel, ...]
    source: str = "http"
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    group_by: tuple[str, ...] = ()
    percentile: float | None = None  # latency: the percentile, or None with aggregate
    aggregate: str = ""  # latency: "avg" / "max" when not a percentile
    for_s: float = 0.0
    consecutive: int = 1
    resolve_after_s: float = 0.0
    repeat_interval_s: float | None = 3600.0
    min_count: int = 1
    query: str | None = None
    input_price_per_1m: float | None = None
    output_price_per_1m: float | None = None
    description: str = ""
    unit: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def breaches(self, value: float) -> bool:
        return COMPARISONS[self.comparison](value, self.threshold)

    @property
    def metric_label(self) -> str:
        if self.metric == "latency":
            return (
                f"p{_num(self.percentile)}_latency"
                if self.percentile
                else f"{self.aggregate}_latency"
            )
        return self.metric

    @property
    def condition(self) -> str:
        """The rule as one line: ``error_rate > 5% over 60s``."""
        threshold = format_value(self.threshold, self.unit)
        window = format_duration(self.window_s)
        return f"{self.metric_label} {self.comparison} {threshold} over {window}"

    def describe(self) -> dict[str, Any]:
        """Plain data about the rule, for the store's ``alert_rules`` table and the UI."""
        return {
            "name": self.name,
            "condition": self.condition,
            "metric": self.metric_label,
            "comparison": self.comparison,
            "threshold": self.threshold,
            "unit": self.unit,
            "window_s": self.window_s,
            "source": self.source,
            "filters": {k: list(v) for k, v in self.filters},
            "group_by": list(self.group_by),
            "for_s": self.for_s,
            "consecutive": self.consecutive,
            "resolve_after_s": self.resolve_after_s,
            "repeat_interval_s": self.repeat_interval_s,
            "min_count": self.min_count,
            "channels": [c.label for c in self.channels],
            "description": self.description,
        }


def _num(value: float | None) -> str:
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
    return f"{_num(seconds)}s"


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


def _threshold(metric: str, number: float, unit: str | None, where: str) -> float:
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


def _parse_threshold(metric: str, value: Any, where: str) -> float:
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
    return _threshold(metric, number, unit, where)


def _parse_comparison(value: Any, where: str) -> str:
    text = str(value).strip().lower().replace(" ", "_")
    text = _COMPARISON_WORDS.get(text, text)
    if text not in COMPARISONS:
        raise RuleError(f"{where}: {value!r} is not a comparison (one of > >= < <= == !=)")
    return text


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise RuleError(f"{where}: expected a string or a list of strings, not {value!r}")


# Every spelling a rule field may have, mapped to the field it sets.
_FIELD_ALIASES: dict[str, str] = {
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


def parse_rule(
    spec: AlertRule | Mapping[str, Any],
    index: int,
    resolve_channels: Callable[[Any, str], tuple[Channel, ...]],
) -> Rule:
    """One user rule -> ``Rule``; ``RuleError`` names the rule and the field."""
    if isinstance(spec, AlertRule):
        raw: dict[str, Any] = {
            f.name: getattr(spec, f.name)
            for f in dataclasses.fields(spec)
            if getattr(spec, f.name) != f.default
        }
        raw["name"] = spec.name
    elif isinstance(spec, Mapping):
        raw = dict(spec)
    else:
        raise RuleError(
            f"obs: alert rule #{index + 1}: expected a dict or obs.AlertRule, not {spec!r}"
        )
    name = raw.get("name")
    label = (
        f"obs: alert rule {name!r}"
        if isinstance(name, str) and name.strip()
        else f"obs: alert rule #{index + 1}"
    )
    if not isinstance(name, str) or not name.strip():
        raise RuleError(f"{label}: 'name' is required (a short text naming the rule)")
    fields: dict[str, Any] = {}
    for key, value in raw.items():
        canonical = _FIELD_ALIASES.get(str(key).strip().lower().replace("-", "_"))
        if canonical is None:
            raise RuleError(f"{label}: unknown field {key!r}")
        if canonical in fields:
            raise RuleError(f"{label}: field {canonical!r} given twice (as {key!r})")
        fields[canonical] = value
    return _build(name.strip(), label, fields, resolve_channels)


def _build(
    name: str,
    label: str,
    fields: dict[str, Any],
    resolve_channels: Callable[[Any, str], tuple[Channel, ...]],
) -> Rule:
    def where(key: str) -> str:
        return f"{label} field {key!r}"

    metric_text: str | None = None
    threshold: float | None = None
    comparison: str | None = None
    window: Any = fields.get("window")
    condition = fields.get("condition")
    if condition is not None:
        if not isinstance(condition, str):
            raise RuleError(f"{where('condition')}: expected text such as 'error_rate > 5%'")
        m = _CONDITION.match(condition)
        if m is None:
            raise RuleError(
                f"{where('condition')}: cannot read {condition!r} (write e.g. 'error_rate > 5%' "
                "or 'p95_latency > 1s')"
            )
        metric_text, comparison = m["metric"], m["op"]
        if m["window"]:
            if window is not None:
                raise RuleError(f"{where('condition')}: the window is given twice")
            window = m["window"]
    if "metric" in fields:
        if metric_text is not None:
            raise RuleError(f"{where('metric')}: give either 'condition' or 'metric', not both")
        metric_text = str(fields["metric"])
    if metric_text is None:
        raise RuleError(
            f"{label}: give 'condition' (e.g. 'error_rate > 5%') or 'metric' and 'threshold'"
        )
    try:
        metric, percentile, aggregate = canonical_metric(metric_text)
    except KeyError:
        raise RuleError(
            f"{where('condition' if condition else 'metric')}: unknown metric {metric_text!r} "
            "(error_rate, error_count, count, p50/p95/p99_latency, avg_latency, max_latency, "
            "tokens, input_tokens, output_tokens, cost, message_failures, "
            "message_failure_rate, sql)"
        ) from None
    if condition is not None:
        m = _CONDITION.match(condition)
        assert m is not None
        if "threshold" in fields:
            raise RuleError(f"{where('threshold')}: the threshold is already in 'condition'")
        threshold = _threshold(metric, float(m["number"]), m["unit"], where("condition"))
        if "comparison" in fields:
            raise RuleError(f"{where('comparison')}: the comparison is already in 'condition'")
    else:
        threshold = _parse_threshold(metric, fields.get("threshold"), where("threshold"))
        comparison = fields.get("comparison", ">")
    comparison = _parse_comparison(comparison, where("comparison"))

    window_s = parse_duration(window if window is not None else 60.0, where("window"))
    assert window_s is not None
    if window_s <= 0:
        raise RuleError(f"{where('window')}: must be more than 0 seconds")

    unit, source = METRICS[metric]
    if "spans" in fields:
        source = str(fields["spans"]).strip().lower()
        if source not in SOURCES:
            raise RuleError(
                f"{where('spans')}: {fields['spans']!r} is not one of {', '.join(SOURCES)}"
            )
    elif metric in ("error_rate", "error_count", "count", "latency"):
        # A model or destination filter says which spans are meant.
        if "model" in fields:
            source = "llm"
        elif "destination" in fields:
            source = "messaging"

    filters = []
    for dimension in DIMENSIONS:
        if dimension in fields and fields[dimension] is not None:
            filters.append((dimension, _strings(fields[dimension], where(dimension))))
    group_by: tuple[str, ...] = ()
    if fields.get("group_by"):
        group_by = _strings(fields["group_by"], where("group_by"))
        for dimension in group_by:
            if dimension not in DIMENSIONS:
                raise RuleError(
                    f"{where('group_by')}: {dimension!r} is not one of {', '.join(DIMENSIONS)}"
                )

    query = fields.get("query")
    if metric == "sql":
        if not isinstance(query, str) or not query.strip():
            raise RuleError(f"{where('query')}: an sql rule needs a query returning a value")
        if group_by or filters:
            raise RuleError(f"{where('query')}: an sql rule groups and filters in its own query")
    elif query is not None:
        raise RuleError(f"{where('query')}: only the 'sql' metric takes a query")

    prices: dict[str, float | None] = {"input_price_per_1m": None, "output_price_per_1m": None}
    for key in ("price_per_1m", "input_price_per_1m", "output_price_per_1m"):
        if key in fields and fields[key] is not None:
            if metric != "cost":
                raise RuleError(f"{where(key)}: prices apply to the 'cost' metric only")
            value = fields[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise RuleError(f"{where(key)}: expected a non-negative number, not {value!r}")
            if key == "price_per_1m":
                prices = {"input_price_per_1m": float(value), "output_price_per_1m": float(value)}
            else:
                prices[key] = float(value)

    def count(key: str, default: int, least: int) -> int:
        value = fields.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise RuleError(f"{where(key)}: expected a whole number >= {least}, not {value!r}")
        return value

    repeat = fields.get("repeat_interval", 3600.0)
    repeat_s = parse_duration(repeat, where("repeat_interval"), allow_none=True)
    description = fields.get("description", "")
    if not isinstance(description, str):
        raise RuleError(f"{where('description')}: expected text")
    return Rule(
        name=name,
        metric=metric,
        comparison=comparison,
        threshold=threshold,
        window_s=window_s,
        channels=resolve_channels(fields.get("channels", ()), where("channels")),
        source=source,
        filters=tuple(filters),
        group_by=group_by,
        percentile=percentile,
        aggregate=aggregate,
        for_s=parse_duration(fields.get("for_", 0.0), where("for")) or 0.0,
        consecutive=count("consecutive", 1, 1),
        resolve_after_s=parse_duration(fields.get("resolve_after", 0.0), where("resolve_after"))
        or 0.0,
        repeat_interval_s=repeat_s or None,
        min_count=count("min_count", 1, 1),
        query=query.strip() if isinstance(query, str) else None,
        input_price_per_1m=prices["input_price_per_1m"],
        output_price_per_1m=prices["output_price_per_1m"],
        description=description,
        unit=unit,
    )
