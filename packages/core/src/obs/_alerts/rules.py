"""Alert rules: what users write (``AlertRule``, dicts, condition strings) and what obs runs.

Users write rules in several natural spellings (``"error_rate > 5%"``, ``metric="error_rate",
threshold=0.05``, ``p95(latency) > 1s``); they all become one normalised, immutable ``Rule``.
A rule that cannot be understood fails at ``configure()`` with one line naming the rule and
the field, never later in a background thread.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from obs._alerts.channels import Channel
from obs._alerts.vocabulary import (
    COMPARISONS,
    CONDITION,
    DIMENSIONS,
    FIELD_ALIASES,
    METRICS,
    SOURCES,
    RuleError,
    canonical_metric,
    format_duration,
    format_value,
    number_text,
    parse_comparison,
    parse_duration,
    parse_threshold,
    scale_threshold,
    strings,
)

ChannelRef = str | Mapping[str, Any] | Channel
#: The default cool-down before resolving is the rule's window, but no longer than this.
DEFAULT_MAX_COOL_DOWN_S = 300.0


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
    #: Recovered this long before it resolves; default: the window, at most 5 minutes.
    resolve_after: float | str | timedelta | None = None
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

    def breaches(self, value: float) -> bool:
        return COMPARISONS[self.comparison](value, self.threshold)

    @property
    def metric_label(self) -> str:
        if self.metric == "latency":
            return (
                f"p{number_text(self.percentile)}_latency"
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
        canonical = FIELD_ALIASES.get(str(key).strip().lower().replace("-", "_"))
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
        m = CONDITION.match(condition)
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
        m = CONDITION.match(condition)
        assert m is not None
        if "threshold" in fields:
            raise RuleError(f"{where('threshold')}: the threshold is already in 'condition'")
        threshold = scale_threshold(metric, float(m["number"]), m["unit"], where("condition"))
        if "comparison" in fields:
            raise RuleError(f"{where('comparison')}: the comparison is already in 'condition'")
    else:
        threshold = parse_threshold(metric, fields.get("threshold"), where("threshold"))
        comparison = fields.get("comparison", ">")
    comparison = parse_comparison(comparison, where("comparison"))

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
            filters.append((dimension, strings(fields[dimension], where(dimension))))
    group_by: tuple[str, ...] = ()
    if fields.get("group_by"):
        group_by = strings(fields["group_by"], where("group_by"))
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

    # A flap faster than the window is one incident, not a notification per evaluation.
    resolve_after_s = parse_duration(
        fields.get("resolve_after"), where("resolve_after"), allow_none=True
    )
    if resolve_after_s is None:
        resolve_after_s = min(window_s, DEFAULT_MAX_COOL_DOWN_S)
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
        resolve_after_s=resolve_after_s,
        repeat_interval_s=repeat_s or None,
        min_count=count("min_count", 1, 1),
        query=query.strip() if isinstance(query, str) else None,
        input_price_per_1m=prices["input_price_per_1m"],
        output_price_per_1m=prices["output_price_per_1m"],
        description=description,
        unit=unit,
    )
