"""Hand-written telemetry: spans, traced functions, logs as instant spans."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry.trace import SpanKind, StatusCode

import obs


class PaymentError(Exception):
    pass


def test_span_nesting_and_attributes(obs_capture):
    with obs.span("checkout", order_id=7, tags=["a", "b"]) as span:
        span.set_attribute("extra", True)
        with obs.span("charge card"):
            pass
    assert obs_capture.tree() == ["checkout", "  charge card"]
    checkout = obs_capture.one("checkout")
    assert checkout.attributes["order_id"] == 7
    assert checkout.attributes["tags"] == ("a", "b")
    assert checkout.attributes["extra"] is True


def test_span_records_and_reraises_the_same_exception(obs_capture):
    error = PaymentError("card declined")
    with pytest.raises(PaymentError) as raised, obs.span("charge"):
        raise error
    assert raised.value is error
    span = obs_capture.one("charge")
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "PaymentError: card declined"
    assert span.attributes["error.type"].endswith("PaymentError")
    [event] = span.events
    assert event.name == "exception"
    assert event.attributes["exception.message"] == "card declined"


def test_templated_span_name_keeps_template_and_message(obs_capture):
    with obs.span("charge {order_id}", order_id=42):
        pass
    span = obs_capture.one("charge {order_id}")
    assert span.attributes["obs.msg"] == "charge 42"
    assert span.attributes["obs.msg_template"] == "charge {order_id}"


@pytest.mark.parametrize("level", ["trace", "debug", "info", "notice", "warn", "error", "fatal"])
def test_each_log_level(obs_capture, level):
    log_function = obs.trace_log if level == "trace" else getattr(obs, level)
    log_function("user {name} created", name="alice", user_id=3)
    [log] = obs_capture.logs()
    assert log.name == "user {name} created"
    assert log.start_time == log.end_time
    attrs = log.attributes
    assert attrs["obs.level"] == level
    assert attrs["obs.msg"] == "user alice created"
    assert attrs["obs.msg_template"] == "user {name} created"
    assert attrs["user_id"] == 3
    failed = level in ("error", "fatal")
    assert (log.status.status_code is StatusCode.ERROR) is failed


def test_level_numbers_follow_opentelemetry_severity(obs_capture):
    for level in ("trace_log", "debug", "info", "notice", "warn", "error", "fatal"):
        getattr(obs, level)(level)
    numbers = [s.attributes["obs.level_num"] for s in obs_capture.logs()]
    assert numbers == [1, 5, 9, 10, 13, 17, 21]


def test_min_level_filters_logs(obs_capture):
    obs_capture.configure(min_level="warn")
    obs.info("quiet")
    obs.warn("loud")
    assert [s.name for s in obs_capture.logs()] == ["loud"]


def test_log_is_placed_in_the_current_trace(obs_capture):
    with obs.span("request"):
        obs.info("inside")
    request, log = obs_capture.one("request"), obs_capture.one("inside")
    assert log.parent.span_id == request.context.span_id
    assert log.context.trace_id == request.context.trace_id


def test_exception_log_records_the_handled_exception(obs_capture):
    try:
        raise PaymentError("declined")
    except PaymentError:
        obs.exception("payment for {order} failed", order=9)
    [log] = obs_capture.logs("error")
    assert log.attributes["obs.msg"] == "payment for 9 failed"
    assert log.status.status_code is StatusCode.ERROR
    assert log.attributes["error.type"].endswith("PaymentError")
    assert [e.name for e in log.events] == ["exception"]


def test_bad_templates_never_raise(obs_capture):
    obs.info("missing {field} and {0} and {bad!z}", other=1)
    obs.info("format spec {value:>>>}", value=1)
    obs.info("{", value=1)
    assert len(obs_capture.logs()) == 3
    assert obs_capture.logs()[0].attributes["obs.msg"].startswith("missing")


def test_odd_attribute_values_are_converted(obs_capture):
    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    obs.info(
        "odd",
        raw=b"\xff\xfe",
        text_bytes=b"hello",
        items={3, 1, 2},
        nested={"a": [1, {"b": None}]},
        broken=Broken(),
        huge="x" * 100_000,
        none=None,
    )
    attrs = obs_capture.one("odd").attributes
    assert attrs["raw"] == "0xfffe"
    assert attrs["text_bytes"] == "hello"
    assert attrs["items"] == "[1, 2, 3]"
    assert attrs["nested"] == '{"a": [1, {"b": null}]}'
    assert attrs["broken"].startswith("<unrepresentable ")
    assert "Broken" in attrs["broken"]
    assert len(attrs["huge"]) < 8300
    assert attrs["huge"].endswith("chars]")
    assert "none" not in attrs


def test_traced_sync_function(obs_capture):
    @obs.traced
    def add(a: int, b: int) -> int:
        obs.info("adding")
        return a + b

    assert add(1, 2) == 3
    assert obs_capture.tree() == [f"{add.__qualname__}", "  adding"]
    span = obs_capture.one(add.__qualname__)
    assert span.attributes["code.function.name"].endswith("add")


def test_traced_with_name_reraises_unchanged(obs_capture):
    error = KeyError("k")

    @obs.traced(name="lookup", attributes={"table": "users"})
    def lookup() -> None:
        raise error

    with pytest.raises(KeyError) as raised:
        lookup()
    assert raised.value is error
    span = obs_capture.one("lookup")
    assert span.attributes["table"] == "users"
    assert span.attributes["error.type"] == "KeyError"


async def test_traced_async_function(obs_capture):
    @obs.traced(name="fetch")
    async def fetch(n: int) -> int:
        await asyncio.sleep(0)
        with obs.span("inner"):
            pass
        return n * 2

    results = await asyncio.gather(fetch(1), fetch(2))
    assert results == [2, 4]
    fetches = obs_capture.find("fetch")
    assert len(fetches) == 2
    for inner in obs_capture.find("inner"):
        assert obs_capture.parent(inner) in fetches
    # concurrent calls never nest under each other
    assert all(f.parent is None for f in fetches)


def test_traced_generator_spans_iteration_but_not_the_consumer(obs_capture):
    @obs.traced(name="numbers")
    def numbers(n: int):
        for i in range(n):
            obs.info("yield {i}", i=i)
            yield i
        return "done"

    with obs.span("consumer"):
        for value in numbers(3):
            obs.info("got {value}", value=value)
    gen_span = obs_capture.one("numbers")
    consumer = obs_capture.one("consumer")
    assert gen_span.parent.span_id == consumer.context.span_id
    for log in obs_capture.find("yield {i}"):
        assert log.parent.span_id == gen_span.context.span_id
    for log in obs_capture.find("got {value}"):
        assert log.parent.span_id == consumer.context.span_id


def test_traced_generator_closed_early_and_return_value(obs_capture):
    @obs.traced(name="gen")
    def gen():
        yield 1
        yield 2
        return "result"

    g = gen()
    assert next(g) == 1
    g.close()
    span = obs_capture.one("gen")
    assert span.status.status_code is StatusCode.UNSET

    def drive():
        return (yield from gen())

    assert list(drive()) == [1, 2]
    inner = gen()
    next(inner)
    next(inner)
    with pytest.raises(StopIteration) as stop:
        next(inner)
    assert stop.value.value == "result"


def test_traced_generator_send_and_throw(obs_capture):
    @obs.traced(name="echo")
    def echo():
        received = None
        while True:
            try:
                received = yield received
            except ValueError:
                received = "recovered"

    g = echo()
    assert next(g) is None
    assert g.send("a") == "a"
    assert g.throw(ValueError("x")) == "recovered"
    g.close()
    assert obs_capture.one("echo").status.status_code is StatusCode.UNSET


def test_traced_generator_failure_is_recorded(obs_capture):
    @obs.traced(name="fails")
    def fails():
        yield 1
        raise PaymentError("in generator")

    with pytest.raises(PaymentError):
        list(fails())
    assert obs_capture.one("fails").status.status_code is StatusCode.ERROR


async def test_traced_async_generator(obs_capture):
    @obs.traced(name="agen")
    async def agen(n: int):
        for i in range(n):
            await asyncio.sleep(0)
            obs.info("item {i}", i=i)
            yield i

    seen = [i async for i in agen(3)]
    assert seen == [0, 1, 2]
    span = obs_capture.one("agen")
    assert all(log.parent.span_id == span.context.span_id for log in obs_capture.find("item {i}"))

    stream = agen(5)
    assert await stream.__anext__() == 0
    await stream.aclose()
    assert len(obs_capture.find("agen")) == 2


async def test_traced_async_generator_failure(obs_capture):
    @obs.traced(name="afails")
    async def afails():
        yield 1
        raise PaymentError("async generator")

    with pytest.raises(PaymentError):
        async for _ in afails():
            pass
    assert obs_capture.one("afails").status.status_code is StatusCode.ERROR


def test_span_kind_and_tracer_helper(obs_capture):
    tracer = obs.tracer("my.lib", "1.0")
    with tracer.start_as_current_span("client call", kind=SpanKind.CLIENT):
        pass
    span = obs_capture.one("client call")
    assert span.kind is SpanKind.CLIENT
    assert span.instrumentation_scope.name == "my.lib"
