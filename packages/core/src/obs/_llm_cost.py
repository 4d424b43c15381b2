"""What an LLM call cost, from a price table kept as data.

The table ships with obs (``_data/llm_prices.json``, dated: prices change) and a user file
named by ``OBS_LLM_PRICES`` overrides or extends it, model by model. Providers count tokens
differently, so each provider in the file says how: OpenAI's ``input_tokens`` already include
the cached ones (billed at the cached price instead) and its ``output_tokens`` already include
the reasoning ones (billed as output); a provider that reports them apart says so with the two
flags set to false, and they are added on top.

``llm_cost(model, input, output, cached_input, reasoning)`` is registered as an SQL function
on store connections, so cost is a column in any query.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PRICES_ENV = "OBS_LLM_PRICES"
#: What may follow a model's name in a snapshot's: a date or version, or "latest".
_SNAPSHOT = re.compile(r"[-:@](\d|latest\b)")
_PER_TOKENS = 1_000_000


@dataclass(frozen=True)
class Price:
    """USD per million tokens, and how the provider counts cached and reasoning tokens."""

    input: float
    output: float
    cached_input: float | None = None
    reasoning: float | None = None
    cached_input_in_input_tokens: bool = True
    reasoning_in_output_tokens: bool = True

    def cost(
        self, input_tokens: int, output_tokens: int, cached: int = 0, reasoning: int = 0
    ) -> float:
        cached_price = self.input if self.cached_input is None else self.cached_input
        uncached = input_tokens - cached if self.cached_input_in_input_tokens else input_tokens
        total = max(uncached, 0) * self.input + cached * cached_price
        total += output_tokens * self.output
        if not self.reasoning_in_output_tokens:
            total += reasoning * (self.output if self.reasoning is None else self.reasoning)
        return total / _PER_TOKENS


class PriceTable:
    """Models by name; a dated snapshot name (``gpt-4o-mini-2024-07-18``) finds its base model."""

    def __init__(self, prices: dict[str, Price], as_of: str | None = None) -> None:
        self.prices = prices
        self.as_of = as_of
        # Longest names first, so "gpt-4o-mini-…" finds gpt-4o-mini before gpt-4o.
        self._by_length = sorted(prices, key=len, reverse=True)

    def find(self, model: str | None) -> Price | None:
        if not model:
            return None
        model = model.lower()
        exact = self.prices.get(model)
        if exact is not None:
            return exact
        if "/" in model:  # "openai/gpt-4o" as some gateways name models
            return self.find(model.rsplit("/", 1)[1])
        for name in self._by_length:
            if model.startswith(name) and _SNAPSHOT.match(model, len(name)):
                return self.prices[name]
        return None

    def cost(
        self,
        model: str | None,
        input_tokens: Any,
        output_tokens: Any,
        cached: Any = 0,
        reasoning: Any = 0,
    ) -> float | None:
        price = self.find(model)
        if price is None:
            return None
        return price.cost(_int(input_tokens), _int(output_tokens), _int(cached), _int(reasoning))


def _int(value: Any) -> int:
    try:
        return max(int(value or 0), 0)
    except (TypeError, ValueError):
        return 0


def parse(data: Any) -> tuple[dict[str, Price], str | None]:
    """The models of one price file (the shipped one or a user's)."""
    prices: dict[str, Price] = {}
    for provider in (data.get("providers") or {}).values():
        cached_in_input = bool(provider.get("cached_input_in_input_tokens", True))
        reasoning_in_output = bool(provider.get("reasoning_in_output_tokens", True))
        for name, row in (provider.get("models") or {}).items():
            prices[str(name).lower()] = Price(
                input=float(row["input"]),
                output=float(row.get("output", 0.0)),
                cached_input=None
                if row.get("cached_input") is None
                else float(row["cached_input"]),
                reasoning=None if row.get("reasoning") is None else float(row["reasoning"]),
                cached_input_in_input_tokens=cached_in_input,
                reasoning_in_output_tokens=reasoning_in_output,
            )
    as_of = data.get("as_of")
    return prices, str(as_of) if as_of else None


def load(user_file: str | os.PathLike[str] | None = None) -> PriceTable:
    """The shipped table, overridden by ``user_file`` (or ``$OBS_LLM_PRICES``) when given."""
    from importlib import resources  # here, not at the top: opening a store must stay cheap

    shipped = json.loads(
        resources.files("obs").joinpath("_data/llm_prices.json").read_text(encoding="utf-8")
    )
    prices, as_of = parse(shipped)
    path = user_file or os.environ.get(PRICES_ENV)
    if path:
        try:
            user_prices, user_as_of = parse(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            from obs._diagnostics import internal_error

            internal_error(f"reading the LLM price file {path} (using the shipped prices)", exc)
        else:
            prices.update(user_prices)
            as_of = user_as_of or as_of
    return PriceTable(prices, as_of)


_lock = threading.Lock()
_table: PriceTable | None = None


def price_table() -> PriceTable:
    """The table for this process, loaded once (on the first ``llm_cost`` call)."""
    global _table
    table = _table
    if table is not None:  # once per row of a query: no lock once loaded
        return table
    with _lock:
        if _table is None:
            _table = load()
        return _table


def sql_cost(model: Any, inp: Any, out: Any, cached: Any = 0, reasoning: Any = 0) -> float | None:
    """``llm_cost(...)`` over the process's table (loaded by the first call)."""
    prices = price_table()
    return prices.cost(model if isinstance(model, str) else None, inp, out, cached, reasoning)


def register(conn: sqlite3.Connection, table: PriceTable | None = None) -> None:
    """Adds ``llm_cost(model, input, output[, cached_input[, reasoning]])`` (USD or NULL).

    Store connections get it from ``obs._store._functions`` without importing this module.
    """
    if table is None:
        cost = sql_cost
    else:

        def cost(
            model: Any, inp: Any, out: Any, cached: Any = 0, reasoning: Any = 0
        ) -> float | None:
            return table.cost(
                model if isinstance(model, str) else None, inp, out, cached, reasoning
            )

    for arity in (3, 4, 5):
        conn.create_function("llm_cost", arity, cost, deterministic=True)
