"""LLM cost from the price table: cached and reasoning tokens as the provider bills them."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from obs._llm_cost import Price, PriceTable, load, register
from obs._store import connect


def test_openai_cached_tokens_are_part_of_input_and_billed_at_the_cached_price() -> None:
    table = load()
    # gpt-4o-mini: 0.15 input, 0.075 cached, 0.60 output per 1M
    cost = table.cost("gpt-4o-mini", 1000, 500, 200, 50)
    assert cost == pytest.approx((800 * 0.15 + 200 * 0.075 + 500 * 0.6) / 1e6)
    # reasoning tokens are inside output_tokens for OpenAI: no extra charge
    assert table.cost("o4-mini", 100, 1000, 0, 900) == pytest.approx((100 * 1.1 + 1000 * 4.4) / 1e6)


def test_dated_snapshots_and_gateway_names_find_their_model() -> None:
    table = load()
    assert table.find("gpt-4o-mini-2024-07-18") is table.find("gpt-4o-mini")
    assert table.find("gpt-4o-2024-08-06") is table.find("gpt-4o")
    assert table.find("openai/gpt-4.1-nano") is table.find("gpt-4.1-nano")
    assert table.find("gpt-4o-minix") is None  # a prefix only counts at a separator
    assert table.cost("unknown-model", 10, 10) is None
    assert table.as_of


def test_a_provider_that_reports_cached_and_reasoning_apart() -> None:
    price = Price(
        input=3.0,
        output=15.0,
        cached_input=0.3,
        cached_input_in_input_tokens=False,
        reasoning_in_output_tokens=False,
    )
    table = PriceTable({"claude-x": price})
    assert table.cost("claude-x", 1000, 100, 5000, 200) == pytest.approx(
        (1000 * 3.0 + 5000 * 0.3 + 100 * 15.0 + 200 * 15.0) / 1e6
    )


def test_a_user_file_overrides_and_extends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = tmp_path / "prices.json"
    user.write_text(
        json.dumps(
            {
                "as_of": "2099-01-01",
                "providers": {
                    "mine": {"models": {"gpt-4o-mini": {"input": 1.0, "output": 2.0}}},
                    "local": {"models": {"llama-local": {"input": 0.0, "output": 0.0}}},
                },
            }
        )
    )
    monkeypatch.setenv("OBS_LLM_PRICES", str(user))
    table = load()
    assert table.as_of == "2099-01-01"
    assert table.cost("gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(3.0)
    assert table.cost("llama-local", 5, 5) == 0.0
    assert table.cost("gpt-4o", 1_000_000, 0) == pytest.approx(2.5)  # the shipped rest stays


def test_a_broken_user_file_keeps_the_shipped_prices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = tmp_path / "prices.json"
    user.write_text("{not json")
    monkeypatch.setenv("OBS_LLM_PRICES", str(user))
    assert load().cost("gpt-4o", 1_000_000, 0) == pytest.approx(2.5)


def test_llm_cost_is_an_sql_function_on_store_connections(tmp_path: Path) -> None:
    conn = connect(tmp_path / "s.db")
    row = conn.execute(
        "SELECT llm_cost('gpt-4o-mini', 1000, 500), llm_cost('gpt-4o-mini', 1000, 500, 200), "
        "llm_cost('gpt-4o-mini', 1000, 500, 200, 50), llm_cost('nope', 1, 1), "
        "llm_cost(NULL, 'x', NULL)"
    ).fetchone()
    assert row[0] == pytest.approx((1000 * 0.15 + 500 * 0.6) / 1e6)
    assert row[1] == row[2] == pytest.approx((800 * 0.15 + 200 * 0.075 + 500 * 0.6) / 1e6)
    assert row[3] is None
    assert row[4] is None
    plain = sqlite3.connect(":memory:")
    register(plain, PriceTable({"m": Price(input=1.0, output=1.0)}))
    assert plain.execute("SELECT llm_cost('m', 1000000, 0)").fetchone() == (1.0,)
