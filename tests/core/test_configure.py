"""configure(): resource, OTLP export, console, reconfiguration, adopting a user's provider."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import threading

import pytest
from opentelemetry import trace as trace_api
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import obs
from obs import _config
from obs._console import ConsoleProcessor
from obs.testing.otlp import OTLPReceiver, attributes


@pytest.fixture
def receiver():
    with OTLPReceiver() as r:
        yield r


def test_resource_from_arguments(obs_capture):
    handle = obs_capture.configure(
        service_name="orders", service_version="1.2.3", environment="staging"
    )
    with obs.span("op"):
        pass
    resource = obs_capture.one("op").resource.attributes
    assert resource["service.name"] == "orders"
    assert resource["service.version"] == "1.2.3"
    assert resource["deployment.environment.name"] == "staging"
    assert handle.resource.attributes["service.name"] == "orders"


def test_resource_from_standard_environment(obs_capture, monkeypatch):
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "team=payments,region=eu")
    obs_capture.configure(service_name=None)
    with obs.span("op"):
        pass
    resource = obs_capture.one("op").resource.attributes
    assert resource["service.name"] == "from-env"
    assert resource["team"] == "payments"


def test_otlp_export_to_a_real_receiver(receiver, obs_capture):
    obs_capture.configure(
        otlp_endpoint=receiver.endpoint, otlp_headers={"x-tenant": "t1"}, service_name="svc"
    )
    with obs.span("exported", password="hunter2", order=1):
        obs.info("hello {name}", name="otlp")
    obs.counter("otlp.counter").add(3)
    assert obs.force_flush()
    spans = {s.name: s for s in receiver.spans()}
    assert set(spans) == {"exported", "hello {name}"}
    assert spans["hello {name}"].parent_span_id == spans["exported"].span_id
    exported = attributes(spans["exported"])
    assert exported["password"] == "[scrubbed: password]"
    assert exported["order"] == 1
    assert receiver.resources()[0]["service.name"] == "svc"
    assert all(r.headers.get("x-tenant") == "t1" for r in receiver.requests)
    assert b"hunter2" not in b"".join(receiver.raw())
    metric_names = {
        m.name
        for req in receiver.metric_requests()
        for rm in req.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    }
    assert "otlp.counter" in metric_names


def test_otlp_endpoint_from_environment(receiver, obs_capture, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20secret-token-value")
    handle = obs_capture.configure(otlp=None)
    assert handle.otlp_endpoint == receiver.endpoint
    with obs.span("via env"):
        pass
    obs.force_flush()
    assert [s.name for s in receiver.spans()] == ["via env"]
    assert receiver.requests[0].headers["authorization"] == "Bearer secret-token-value"


def test_console_defaults_follow_otlp(receiver, obs_capture, monkeypatch):
    monkeypatch.delenv("OBS_CONSOLE", raising=False)
    handle = obs_capture.configure(console=None)
    assert any(isinstance(p, ConsoleProcessor) for p in _pipeline_processors(handle))
    handle = obs_capture.configure(console=None, otlp_endpoint=receiver.endpoint)
    assert not any(isinstance(p, ConsoleProcessor) for p in _pipeline_processors(handle))


def _pipeline_processors(handle):
    return _config._state.pipelines[id(handle.tracer_provider)].processors


def test_reconfigure_has_no_duplicate_processors_and_no_leaked_threads(receiver, obs_capture):
    def obs_threads() -> int:
        # The receiver's own request threads come and go with each export: not obs's.
        return sum("process_request" not in t.name for t in threading.enumerate())

    obs_capture.configure(otlp_endpoint=receiver.endpoint)
    baseline = obs_threads()
    for _ in range(5):
        obs_capture.configure(otlp_endpoint=receiver.endpoint)
    assert obs_threads() == baseline
    obs_capture.clear()
    with obs.span("once"):
        pass
    obs.force_flush()
    assert len(obs_capture.find("once")) == 1
    assert [s.name for s in receiver.spans()].count("once") == 1


def test_tracers_obtained_before_reconfigure_follow_it(obs_capture):
    tracer = obs.tracer("early.lib")
    obs_capture.configure(service_name="second")
    with tracer.start_as_current_span("late"):
        pass
    assert obs_capture.one("late").resource.attributes["service.name"] == "second"


def test_shutdown_then_configure_again(obs_capture):
    obs.shutdown()
    with obs.span("dropped"):
        pass
    obs_capture.configure()
    with obs.span("kept"):
        pass
    assert [s.name for s in obs_capture.spans] == ["kept"]


def test_sample_rate_zero_records_nothing_and_one_everything(obs_capture):
    obs_capture.configure(sample_rate=0.0)
    with obs.span("dropped"):
        obs.info("dropped log")
    assert obs_capture.spans == []
    obs_capture.configure(sample_rate=1.0)
    with obs.span("kept"):
        pass
    assert len(obs_capture.spans) == 1
    with pytest.raises(ValueError, match="sample_rate"):
        obs_capture.configure(sample_rate=2)


def test_adopts_an_explicit_user_provider(obs_capture):
    exporter = InMemorySpanExporter()
    user_provider = TracerProvider()
    user_provider.add_span_processor(SimpleSpanProcessor(exporter))
    handle = obs_capture.configure(tracer_provider=user_provider)
    assert handle.tracer_provider is user_provider
    with obs.span("adopted", token="abc123"):
        pass
    # the user's own processor sees it (it runs before obs's pipeline: not scrubbed there) ...
    assert [s.name for s in exporter.get_finished_spans()] == ["adopted"]
    # ... and obs's pipeline (capture, scrubbing) is attached to the user's provider
    assert obs_capture.one("adopted").attributes["token"] == "[scrubbed: token]"
    # reconfiguring replaces obs's processors in place: no duplicates
    obs_capture.configure(tracer_provider=user_provider)
    obs_capture.clear()
    with obs.span("again"):
        pass
    assert len(obs_capture.find("again")) == 1
    assert len(user_provider._active_span_processor._span_processors) == 2


def test_force_flush_and_context_manager(obs_capture):
    with obs_capture.configure() as handle:
        assert handle.force_flush()
        with obs.span("inside"):
            pass
    assert _config.current() is None
    assert [s.name for s in obs_capture.spans] == ["inside"]


def test_console_prints_a_tree_with_durations(obs_capture):
    stream = io.StringIO()
    obs_capture.configure(span_processors=[ConsoleProcessor(stream, min_level="info")])
    with obs.span("GET /orders"):
        with obs.span("send orders"):
            pass
        obs.debug("noise")
        obs.warn("careful {what}", what="now")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    # The log prints when it happens, indented under its span; the tree when the root ends.
    assert lines[0].split(" ", 1)[1].startswith("  WARN   careful now")
    assert "GET /orders" in lines[1]
    assert "µs" in lines[1] or "ms" in lines[1]
    assert lines[2].split(" ", 1)[1].startswith("  send orders")
    assert "\x1b[" not in stream.getvalue()  # plain when not a terminal


def test_console_colours_when_asked(obs_capture):
    stream = io.StringIO()
    obs_capture.configure(span_processors=[ConsoleProcessor(stream, colours=True)])
    obs.error("bad")
    assert "\x1b[31m" in stream.getvalue()


def test_spans_are_flushed_at_interpreter_exit(receiver):
    script = (
        "import obs\n"
        f"obs.configure(otlp_endpoint={receiver.endpoint!r}, service_name='exiting')\n"
        "with obs.span('last words'):\n"
        "    pass\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert [s.name for s in receiver.spans()] == ["last words"]


def test_console_output_through_configure(obs_capture, capsys):
    obs_capture.configure(console=True)
    with obs.span("visible"):
        obs.info("shown {n}", n=1)
    err = capsys.readouterr().err
    assert "visible" in err
    assert "shown 1" in err


def test_a_failing_user_processor_never_reaches_the_app(obs_capture, caplog):
    class Exploding(SimpleSpanProcessor):
        def __init__(self) -> None:
            super().__init__(InMemorySpanExporter())

        def on_end(self, span):
            raise RuntimeError("processor bug")

    caplog.set_level(logging.WARNING, logger="obs")
    obs_capture.configure(span_processors=[Exploding()])
    with obs.span("survives"):
        pass
    assert obs_capture.one("survives")
    assert "processor bug" in caplog.text or "Exploding.on_end" in caplog.text


def test_global_provider_is_obs_proxy(obs_capture):
    from obs._providers import SwappableTracerProvider

    assert isinstance(trace_api.get_tracer_provider(), SwappableTracerProvider)


@pytest.mark.parametrize("raw", ["soon", "-1", "nan"])
def test_bad_shutdown_timeout_is_said_once_and_the_default_used(
    receiver, obs_capture, monkeypatch, caplog, raw
):
    """A bad OBS_SHUTDOWN_TIMEOUT_S used to raise from configure() and obs.force_flush()."""
    from obs._export_health import DEFAULT_SHUTDOWN_TIMEOUT_S
    from obs.instrumentation import flush

    obs.testing.reset_diagnostics()
    caplog.set_level(logging.WARNING, logger="obs")
    monkeypatch.setenv("OBS_SHUTDOWN_TIMEOUT_S", raw)
    obs_capture.configure(otlp_endpoint=receiver.endpoint)
    with obs.span("still exported"):
        pass
    assert flush() is True
    assert flush() is True
    assert [s.name for s in receiver.spans()] == ["still exported"]
    warnings = [r for r in caplog.records if "OBS_SHUTDOWN_TIMEOUT_S" in r.getMessage()]
    assert len(warnings) == 1
    assert f"using the default ({DEFAULT_SHUTDOWN_TIMEOUT_S})" in warnings[0].getMessage()
