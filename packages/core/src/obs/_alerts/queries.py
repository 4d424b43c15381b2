"""A rule's value over its window, computed by SQL over the store, in bounded time.

Windows filter on the indexed ``start_ns`` column. Everything a query does per row runs in
SQLite's C code (``json_extract``, window functions for percentiles), not in Python callbacks,
so a large window costs the application's threads no GIL time. Each query has a time budget
enforced by a progress handler; a query over budget is interrupted and counted.
"""

from __future__ import annotations

import math
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obs._alerts.rules import Rule
from obs._alerts.vocabulary import DIMENSIONS
from obs._store import arm_timeout, open_read_only

#: Groups a grouped rule considers per evaluation (the busiest first): bounds state and work.
MAX_GROUPS = 100
DEFAULT_QUERY_BUDGET_S = 5.0
#: Metrics that add up: no spans is 0 (a value), not "no data"; ``min_count`` does not apply.
TOTALS = frozenset(
    ("count", "error_count", "message_failures", "tokens", "input_tokens", "output_tokens", "cost")
)


class QueryTimeout(Exception):
    pass


@dataclass(frozen=True)
class GroupValue:
    group: dict[str, Any]
    value: float | None
    count: int
    trace_id: str | None = None

    @property
    def key(self) -> str:
        return group_key(self.group)


def group_key(group: dict[str, Any]) -> str:
    return "\x1f".join(f"{k}={v}" for k, v in sorted(group.items()))


def _attr(key: str) -> str:
    # Keys are obs's own constants (DIMENSIONS / conventions), never user text.
    return f"json_extract(attributes, '$.\"{key}\"')"


_ATTRIBUTE_READ = re.compile(r"json_extract\(attributes, '\$\.\"([\w.]+)\"'\)")


def _guarded(sql: str) -> str:
    return _ATTRIBUTE_READ.sub(
        lambda m: (
            f"CASE WHEN json_valid(attributes) THEN {m.group(0)} "
            f"ELSE attr(attributes, '{m.group(1)}') END"
        ),
        sql,
    )


def _dimension(name: str) -> str:
    column = DIMENSIONS[name]
    return column if column in ("service_name", "name") else _attr(column)


_INPUT = _attr("gen_ai.usage.input_tokens")
_OUTPUT = _attr("gen_ai.usage.output_tokens")
_MODEL = _attr("gen_ai.request.model")


@dataclass
class _Query:
    where: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)


def _base(rule: Rule, since_ns: int, now_ns: int) -> _Query:
    q = _Query(["start_ns >= :since_ns", "start_ns <= :now_ns", "is_log = 0"])
    q.params.update(since_ns=since_ns, now_ns=now_ns)
    source = rule.source
    if source == "http":
        q.where.append("kind = 'server'")
    elif source == "messaging":
        q.where.append("kind = 'consumer'")
    elif source == "llm":
        q.where.append(f"{_MODEL} IS NOT NULL")
    elif source != "all":
        q.where.append("kind = :kind")
        q.params["kind"] = source
    for i, (dimension, values) in enumerate(rule.filters):
        names = []
        for j, value in enumerate(values):
            q.params[f"f{i}_{j}"] = value
            names.append(f":f{i}_{j}")
        q.where.append(f"{_dimension(dimension)} IN ({', '.join(names)})")
    return q


def _value_sql(rule: Rule, has_llm_cost: bool) -> str:
    metric = rule.metric
    if metric in ("error_rate", "message_failure_rate"):
        return "avg(status = 'error')"
    if metric in ("error_count", "message_failures"):
        return "total(status = 'error')"
    if metric == "count":
        return "count(*)"
    if metric == "latency":
        return f"{rule.aggregate}(duration_ms) / 1000.0"
    if metric == "tokens":
        return f"total(coalesce({_INPUT}, 0) + coalesce({_OUTPUT}, 0))"
    if metric == "input_tokens":
        return f"total({_INPUT})"
    if metric == "output_tokens":
        return f"total({_OUTPUT})"
    if metric == "cost":
        return f"total({_cost_sql(rule, has_llm_cost)})"
    raise AssertionError(metric)


def _cost_sql(rule: Rule, has_llm_cost: bool) -> str:
    if rule.input_price_per_1m is not None or rule.output_price_per_1m is not None:
        return (
            f"coalesce({_INPUT}, 0) * {float(rule.input_price_per_1m or 0.0)!r} / 1e6 + "
            f"coalesce({_OUTPUT}, 0) * {float(rule.output_price_per_1m or 0.0)!r} / 1e6"
        )
    if has_llm_cost:
        return f"llm_cost({_MODEL}, {_INPUT}, {_OUTPUT})"
    raise ValueError(
        "a cost rule needs input_price_per_1m / output_price_per_1m (this store has no "
        "llm_cost() function)"
    )


class Reader:
    """The store's read-only connection (writes refused by its authorizer, also for a user's
    ``sql`` rule), each query stopped at a time budget."""

    def __init__(self, path: Path, budget_s: float = DEFAULT_QUERY_BUDGET_S) -> None:
        self.budget_s = budget_s
        self.conn = open_read_only(path)
        self.timeouts = 0
        self.guard_json = False
        self.description: list[str] = []
        self.has_llm_cost = _has_llm_cost(self.conn)

    def run(
        self, sql: str, params: dict[str, Any], limit: int = MAX_GROUPS + 1, *, ours: bool = True
    ) -> list[Any]:
        """Rows of ``sql`` (``ours``: built here, so attribute reads may be rewritten)."""
        if ours and self.guard_json:
            sql = _guarded(sql)
        try:
            return self._run(sql, params, limit)
        except sqlite3.OperationalError as exc:
            if not ours or self.guard_json or "malformed JSON" not in str(exc):
                raise
        # A row whose attributes SQLite's JSON parser refuses (a NaN attribute is written as
        # `NaN`): read such rows with the store's Python attr() from now on.
        self.guard_json = True
        return self._run(_guarded(sql), params, limit)

    def _run(self, sql: str, params: dict[str, Any], limit: int) -> list[Any]:
        arm_timeout(self.conn, self.budget_s)
        try:
            cursor = self.conn.execute(sql, params)
            rows = cursor.fetchmany(limit)
            self.description = [d[0] for d in cursor.description or ()]
            return rows
        except sqlite3.OperationalError:
            if self.conn.timed_out:
                self.timeouts += 1
                raise QueryTimeout(f"query took more than {self.budget_s:g}s") from None
            raise
        finally:
            arm_timeout(self.conn, None)

    def close(self) -> None:
        self.conn.close()


def _has_llm_cost(conn: sqlite3.Connection) -> bool:
    """Whether the store's functions include ``llm_cost(model, input, output)``."""
    try:
        conn.execute("SELECT llm_cost(NULL, NULL, NULL)").fetchone()
    except sqlite3.Error:  # no such function, or another signature
        return False
    return True


def evaluate(reader: Reader, rule: Rule, now_ns: int) -> list[GroupValue]:
    """The rule's value per group (one entry with an empty group when it is not grouped)."""
    if rule.metric == "sql":
        return _evaluate_sql(reader, rule, now_ns)
    since = now_ns - int(rule.window_s * 1e9)
    q = _base(rule, since, now_ns)
    where = " AND ".join(q.where)
    groups = [_dimension(d) for d in rule.group_by]
    aliases = [f"g{i}" for i in range(len(groups))]
    if rule.metric == "latency" and rule.percentile is not None:
        return _evaluate_percentile(reader, rule, q, where, groups, aliases)
    select = [f"{g} AS {a}" for g, a in zip(groups, aliases, strict=True)]
    select += [f"{_value_sql(rule, reader.has_llm_cost)} AS value", "count(*) AS n"]
    sql = f"SELECT {', '.join(select)} FROM spans WHERE {where}"
    if groups:
        sql += f" GROUP BY {', '.join(aliases)} ORDER BY n DESC LIMIT {MAX_GROUPS}"
    rows = reader.run(sql, q.params)
    out = []
    for row in rows:
        group = dict(zip(rule.group_by, row[: len(groups)], strict=True))
        value, n = row[len(groups)], int(row[len(groups) + 1] or 0)
        if groups and n == 0:
            continue
        if rule.metric not in TOTALS and n < rule.min_count:
            value = None  # a rate or latency over too few spans is not a signal
        out.append(GroupValue(group, _number(value), n))
    return out


def _evaluate_percentile(
    reader: Reader, rule: Rule, q: _Query, where: str, groups: list[str], aliases: list[str]
) -> list[GroupValue]:
    partition = f"PARTITION BY {', '.join(aliases)}" if aliases else ""
    inner = ", ".join(
        [f"{g} AS {a}" for g, a in zip(groups, aliases, strict=True)] + ["duration_ms AS d"]
    )
    keys = ", ".join(aliases)
    q.params["p"] = rule.percentile
    sql = (
        f"WITH w AS (SELECT {inner} FROM spans WHERE {where}), "
        f"r AS (SELECT {keys + ', ' if keys else ''}d, "
        f"row_number() OVER ({partition} ORDER BY d) - 1 AS rn, "
        f"count(*) OVER ({partition}) AS n FROM w) "
        f"SELECT {keys + ', ' if keys else ''}max(n) AS n, "
        "max(CASE WHEN rn = CAST((n - 1) * :p / 100.0 AS INTEGER) THEN d END) AS lo, "
        "max(CASE WHEN rn = min(n - 1, CAST((n - 1) * :p / 100.0 AS INTEGER) + 1) THEN d END) "
        "AS hi FROM r"
    )
    if aliases:
        sql += f" GROUP BY {keys} ORDER BY n DESC LIMIT {MAX_GROUPS}"
    rows = reader.run(sql, q.params)
    out = []
    p = float(rule.percentile or 0.0)
    for row in rows:
        group = dict(zip(rule.group_by, row[: len(groups)], strict=True))
        n, lo, hi = row[len(groups) :]
        n = int(n or 0)
        if n < max(1, rule.min_count) or lo is None:
            if not groups:
                out.append(GroupValue(group, None, n))
            continue
        rank = (n - 1) * p / 100.0
        hi = lo if hi is None else hi
        value = (lo + (hi - lo) * (rank - math.floor(rank))) / 1000.0
        out.append(GroupValue(group, value, n))
    return out


def _evaluate_sql(reader: Reader, rule: Rule, now_ns: int) -> list[GroupValue]:
    assert rule.query is not None
    params = {
        "since_ns": now_ns - int(rule.window_s * 1e9),
        "now_ns": now_ns,
        "window_s": rule.window_s,
    }
    rows = reader.run(rule.query, params, ours=False)
    columns = reader.description
    if not columns:
        raise ValueError("the query returned no columns")
    value_index = columns.index("value") if "value" in columns else len(columns) - 1
    trace_index = next(
        (i for i, c in enumerate(columns) if c in ("trace_id", "example_trace_id")), None
    )
    if not rows:
        return [GroupValue({}, None, 0)]
    out = []
    for row in rows[:MAX_GROUPS]:
        group = {c: row[i] for i, c in enumerate(columns) if i != value_index and i != trace_index}
        trace = row[trace_index] if trace_index is not None else None
        out.append(
            GroupValue(
                group, _number(row[value_index]), 1, trace if isinstance(trace, str) else None
            )
        )
    return out


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"the value is text ({value[:40]!r}), not a number") from None
    else:
        raise ValueError(f"the value is {type(value).__name__}, not a number")
    return number if math.isfinite(number) else None


def example_trace(reader: Reader, rule: Rule, group: dict[str, Any], now_ns: int) -> str | None:
    """A trace that shows the problem: the latest failure, the slowest call, the costliest."""
    if rule.metric == "sql":
        return None
    q = _base(rule, now_ns - int(rule.window_s * 1e9), now_ns)
    for i, dimension in enumerate(rule.group_by):
        q.where.append(f"{_dimension(dimension)} IS :g{i}")
        q.params[f"g{i}"] = group.get(dimension)
    metric = rule.metric
    order = "start_ns DESC"
    if metric in ("error_rate", "error_count", "message_failures", "message_failure_rate"):
        q.where.append("status = 'error'")
    elif metric == "latency":
        order = "duration_ms DESC"
    elif metric in ("tokens", "input_tokens", "output_tokens", "cost"):
        order = f"coalesce({_INPUT}, 0) + coalesce({_OUTPUT}, 0) DESC"
    rows = reader.run(
        f"SELECT trace_id FROM spans WHERE {' AND '.join(q.where)} ORDER BY {order} LIMIT 1",
        q.params,
        1,
    )
    return str(rows[0][0]) if rows else None
