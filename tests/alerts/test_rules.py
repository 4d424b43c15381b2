"""Rules in every spelling users write, and one clear line for what obs cannot run."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest

import obs
from obs._alerts import RuleError, load_config
from obs._alerts.channels import ConsoleChannel, SlackWebhook, Webhook

SLACK = "https://hooks.slack.com/services/T000/B000/XXXXSECRET"


def test_the_seed_shape_as_written() -> None:
    config = load_config(
        [
            {
                "name": "High error rate",
                "condition": "error_rate > 5%",
                "window": "60s",
                "channels": ["slack"],
            },
            {"name": "Slow", "condition": "p95_latency > 1s", "window": 300, "channels": ["slack"]},
        ],
        {"slack": SLACK},
    )
    assert config is not None
    errors, slow = config.rules
    assert (errors.metric, errors.comparison, errors.threshold, errors.window_s) == (
        "error_rate",
        ">",
        0.05,
        60.0,
    )
    assert errors.source == "http"
    assert (slow.metric, slow.percentile, slow.threshold, slow.window_s) == (
        "latency",
        95,
        1.0,
        300,
    )
    assert isinstance(errors.channels[0], SlackWebhook)
    assert errors.channels[0].name == "slack"
    assert errors.condition == "error_rate > 5% over 1m"
    # Flapping is damped by default: recovered for a window (at most 5 min) before resolving.
    assert (errors.resolve_after_s, slow.resolve_after_s) == (60, 300)
    assert slow.condition == "p95_latency > 1s over 5m"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"condition": "error_rate > 0.05"}, ("error_rate", ">", 0.05)),
        ({"condition": "error_rate > 5"}, ("error_rate", ">", 0.05)),  # only 5 % makes sense
        ({"condition": "errors >= 10"}, ("error_count", ">=", 10.0)),
        ({"condition": "p99(latency) > 250ms"}, ("latency", ">", 0.25)),
        ({"condition": "latency.p95 > 1"}, ("latency", ">", 1.0)),
        ({"condition": "P95 Latency > 1.5s"}, ("latency", ">", 1.5)),
        ({"condition": "avg_latency > 200ms"}, ("latency", ">", 0.2)),
        ({"condition": "requests < 1"}, ("count", "<", 1.0)),
        ({"condition": "total_tokens > 1e6"}, ("tokens", ">", 1e6)),
        ({"condition": "cost > $5", "price_per_1m": 2.5}, ("cost", ">", 5.0)),
        ({"condition": "failed_messages > 0"}, ("message_failures", ">", 0.0)),
        ({"metric": "error_rate", "threshold": 0.05}, ("error_rate", ">", 0.05)),
        ({"metric": "error_rate", "threshold": "5%", "op": "gte"}, ("error_rate", ">=", 0.05)),
        ({"metric": "p95_latency", "threshold": "1s", "comparison": "above"}, ("latency", ">", 1)),
        ({"metric": "sql", "query": "SELECT 1", "threshold": 0}, ("sql", ">", 0.0)),
    ],
)
def test_spellings(spec: dict[str, object], expected: tuple[str, str, float]) -> None:
    config = load_config([{"name": "r", **spec}])
    assert config is not None
    rule = config.rules[0]
    assert (rule.metric, rule.comparison, rule.threshold) == pytest.approx(expected)


def test_keyword_form_and_durations() -> None:
    config = load_config(
        [
            {
                "name": "r",
                "metric": "error_rate",
                "threshold": 0.05,
                "window_s": 60,
                "for": "30s",
                "cooldown": "2m",
                "repeat_interval": "1h",
                "consecutive": 3,
                "group_by": ["service", "route"],
                "service": "api",
            }
        ]
    )
    assert config is not None
    rule = config.rules[0]
    assert (rule.window_s, rule.for_s, rule.resolve_after_s, rule.repeat_interval_s) == (
        60,
        30,
        120,
        3600,
    )
    assert rule.consecutive == 3
    assert rule.group_by == ("service", "route")
    assert rule.filters == (("service", ("api",)),)
    assert rule.channels == (ConsoleChannel(),)  # no channels: the log


def test_window_inside_the_condition() -> None:
    config = load_config([{"name": "r", "condition": "error_rate > 5% over 2m"}])
    assert config is not None
    assert config.rules[0].window_s == 120


def test_typed_objects() -> None:
    hook = obs.Webhook("http://127.0.0.1:9/hook", headers={"X-Team": "ops"})
    config = load_config(
        [
            obs.AlertRule(
                name="Slow checkout",
                condition="p95_latency > 800ms",
                window=timedelta(minutes=5),
                route="/checkout",
                channels=[hook, "console"],
            )
        ]
    )
    assert config is not None
    rule = config.rules[0]
    assert rule.threshold == pytest.approx(0.8)
    assert rule.window_s == 300
    assert rule.filters == (("route", ("/checkout",)),)
    assert rule.channels == (hook, ConsoleChannel())


def test_channels_inline_urls_and_dicts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPS_HOOK", "https://ops.example/hook/abc")
    config = load_config(
        [
            {
                "name": "r",
                "condition": "error_rate > 5%",
                "channels": [
                    SLACK,
                    "https://ops.example/alerts",
                    {"type": "webhook", "url_env": "OPS_HOOK", "timeout": 2},
                    {"type": "slack", "url": "https://chat.example/hooks/x"},
                ],
            }
        ]
    )
    assert config is not None
    kinds = [type(c) for c in config.rules[0].channels]
    assert kinds == [SlackWebhook, Webhook, Webhook, SlackWebhook]
    assert config.rules[0].channels[2].url == "https://ops.example/hook/abc"  # type: ignore[union-attr]


def test_webhook_urls_are_never_shown_whole() -> None:
    hook = Webhook(SLACK)
    assert "XXXXSECRET" not in repr(hook)
    assert "T000" not in hook.label
    config = load_config([{"name": "r", "condition": "error_rate > 5%", "channels": [SLACK]}])
    assert config is not None
    assert "XXXXSECRET" not in repr(config)
    assert "XXXXSECRET" not in json.dumps(config.rules[0].describe())


@pytest.mark.parametrize(
    ("rules", "channels", "message"),
    [
        ([{"condition": "error_rate > 5%"}], None, "alert rule #1: 'name' is required"),
        ([{"name": "Bad", "condition": "error_rat > 5%"}], None, "'Bad' field 'condition'"),
        ([{"name": "Bad", "condition": "error_rate >> 5%"}], None, "'Bad' field 'condition'"),
        ([{"name": "Bad", "condition": "error_rate > 5%", "window": "soon"}], None, "'window'"),
        ([{"name": "Bad", "condition": "error_rate > 5%", "window": -1}], None, "'window'"),
        ([{"name": "Bad", "condition": "error_rate > 5%", "windw": 60}], None, "unknown field"),
        ([{"name": "Bad", "condition": "count > 5%"}], None, "only makes sense for a rate"),
        ([{"name": "Bad", "metric": "error_rate"}], None, "'Bad' field 'threshold'"),
        ([{"name": "Bad", "metric": "error_rate", "threshold": 1, "op": "~"}], None, "comparison"),
        ([{"name": "Bad", "condition": "error_rate > 5%", "channels": ["pager"]}], {}, "'pager'"),
        (
            [{"name": "Bad", "condition": "error_rate > 5%", "channels": ["file:///etc/passwd"]}],
            None,
            "http:// or https://",
        ),
        ([{"name": "Bad", "condition": "error_rate > 5%", "group_by": "user"}], None, "group_by"),
        ([{"name": "Bad", "metric": "sql", "threshold": 1}], None, "'query'"),
        ([{"name": "Bad", "condition": "tokens > 5", "price_per_1m": 1}], None, "price_per_1m"),
        ([{"name": "A", "condition": "errors > 1"}] * 2, None, "two rules have this name"),
        ([{"name": "Bad", "condition": "errors > 1", "consecutive": 0}], None, "consecutive"),
    ],
)
def test_errors_name_the_rule_and_field(
    rules: list[dict[str, object]], channels: dict[str, object] | None, message: str
) -> None:
    with pytest.raises(RuleError) as info:
        load_config(rules, channels)
    text = str(info.value)
    assert message in text
    assert "\n" not in text


def test_configure_rejects_a_bad_rule_before_changing_anything(tmp_path: Path) -> None:
    threads = {t.name for t in threading.enumerate()}
    before = obs._config.current()
    with pytest.raises(ValueError, match=r"alert rule 'Oops' field 'condition'"):
        obs.configure(
            store=tmp_path / "s.db",
            console=False,
            alerts=[{"name": "Oops", "condition": "eror_rate > 5%"}],
        )
    assert obs._config.current() is before
    assert not (tmp_path / "s.db").exists()  # no store processor was built
    assert {t.name for t in threading.enumerate()} <= threads  # nor any thread started


def test_rules_from_toml_and_json_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "alerts.toml"
    toml.write_text(
        'interval = "5s"\n'
        "[channels]\n"
        f'slack = "{SLACK}"\n'
        "[[rules]]\n"
        'name = "High error rate"\n'
        'condition = "error_rate > 5%"\n'
        'window = "60s"\n'
        'channels = ["slack"]\n'
    )
    config = load_config(toml)
    assert config is not None
    assert config.interval_s == 5
    assert config.rules[0].name == "High error rate"
    assert isinstance(config.rules[0].channels[0], SlackWebhook)

    as_json = tmp_path / "alerts.json"
    as_json.write_text(json.dumps([{"name": "Slow", "condition": "p95_latency > 1s"}]))
    monkeypatch.setenv("OBS_ALERTS_FILE", str(as_json))
    config = load_config(None)
    assert config is not None
    assert config.rules[0].name == "Slow"

    broken = tmp_path / "broken.toml"
    broken.write_text("rules = [")
    with pytest.raises(RuleError, match=r"alerts file .*broken.toml: invalid TOML"):
        load_config(broken)


def test_rules_keyed_by_name() -> None:
    config = load_config({"High error rate": {"condition": "error_rate > 5%"}})
    assert config is not None
    assert config.rules[0].name == "High error rate"


def test_alerts_need_the_local_store(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="the local store"):
        obs.configure(
            store=False,
            console=False,
            metrics=False,
            alerts=[{"name": "r", "condition": "error_rate > 5%"}],
        )
