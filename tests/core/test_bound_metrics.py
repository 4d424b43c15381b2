"""Bound histograms (``obs._bound_metrics``): the same collected data as ``Histogram.record``.

Each scenario drives two meter providers in lockstep, one through the public ``record`` and
one through a :class:`BoundHistogram`, and compares what their readers collect: buckets,
counts, sums, min/max, attributes (types included), temporality, exemplars (all but their
timestamps, which are clock reads). The fast path relies on SDK internals: the pin test says
it is in use with the installed SDK; on an SDK laid out otherwise (the oldest supported one,
1.30, among them) the handles fall back to ``record`` and every equivalence test still holds:

    PYTHONPATH=packages/core/src:. /tmp/otel-oldest/bin/python -m pytest -p no:obs \\
        tests/core/test_bound_metrics.py
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from opentelemetry import trace as trace_api
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.metrics import Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    InMemoryMetricReader,
    MetricReader,
    MetricsData,
)
from opentelemetry.sdk.metrics.view import (
    DropAggregation,
    ExplicitBucketHistogramAggregation,
    ExponentialBucketHistogramAggregation,
    View,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from obs import _bound_metrics
from obs._bound_metrics import BoundHistogram, BoundHistograms, fast_path_in_use
from obs._providers import SwappableMeterProvider

NAME = "http.server.request.duration"
BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 1.0, 10.0]
SETS: list[dict[str, Any]] = [
    {"http.request.method": "GET", "http.route": "/a", "http.response.status_code": 200},
    {
        "http.request.method": "POST",
        "http.route": "/b",
        "http.response.status_code": 500,
        "error.type": "500",
    },
    {"flag": True},  # True, 1 and 1.0 are three sets to the SDK
    {"flag": 1},
    {"flag": 1.0},
    {},
]
VALUES = [0.0, 0.004, 0.005, 0.0051, 0.02, 0.7, 3, 10.0, 99.5]

_tracer = TracerProvider().get_tracer("bound-metrics-test")
_unsampled = TracerProvider(sampler=ALWAYS_OFF).get_tracer("bound-metrics-test")


def _key(attributes: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple((k, type(v), v) for k, v in attributes.items())


def _normal(data: MetricsData | None) -> list[Any]:
    """Collected data without clock reads, attribute types kept, in a stable order."""
    if data is None:
        return []
    out = []
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                points = []
                for point in metric.data.data_points:
                    fields = dataclasses.asdict(point)
                    fields.pop("start_time_unix_nano")
                    fields.pop("time_unix_nano")
                    fields["attributes"] = sorted(
                        (k, type(v).__name__, v) for k, v in (point.attributes or {}).items()
                    )
                    fields["exemplars"] = sorted(
                        repr(
                            (
                                sorted((e.filtered_attributes or {}).items()),
                                e.value,
                                e.span_id,
                                e.trace_id,
                            )
                        )
                        for e in point.exemplars
                    )
                    points.append(repr(sorted(fields.items())))
                out.append(
                    (
                        scope_metrics.scope.name,
                        metric.name,
                        metric.unit,
                        metric.description,
                        type(metric.data).__name__,
                        getattr(metric.data, "aggregation_temporality", None),
                        sorted(points),
                    )
                )
    return sorted(out, key=repr)


class Twins:
    """Two providers fed the same values: ``a`` through ``record``, ``b`` through handles."""

    def __init__(self, readers: Callable[[], list[MetricReader]], **provider: Any) -> None:
        self.readers_a = readers()
        self.readers_b = readers()
        self.provider_a = MeterProvider(metric_readers=self.readers_a, **provider)
        self.provider_b = MeterProvider(metric_readers=self.readers_b, **provider)
        self.a = self._histogram(self.provider_a)
        self.b = BoundHistograms(self._histogram(self.provider_b))
        self.collections = 0

    @staticmethod
    def _histogram(provider: Any) -> Any:
        return provider.get_meter("obs.test", "1.0").create_histogram(
            NAME, unit="s", description="d", explicit_bucket_boundaries_advisory=BUCKETS
        )

    def handle(self, attributes: Mapping[str, Any]) -> BoundHistogram:
        key = _key(attributes)
        return self.b.get(key) or self.b.bind(key, attributes)

    def record(self, value: float, attributes: Mapping[str, Any], context: Any = None) -> None:
        self.a.record(value, attributes, context)
        self.handle(attributes).record(value, context)

    def every(self) -> None:
        for attributes in SETS:
            for value in VALUES:
                self.record(value, attributes)

    def check(self) -> None:
        """Collect every reader of both sides and compare."""
        for reader_a, reader_b in zip(self.readers_a, self.readers_b, strict=True):
            assert isinstance(reader_a, InMemoryMetricReader)
            assert isinstance(reader_b, InMemoryMetricReader)
            expected = _normal(reader_a.get_metrics_data())
            assert _normal(reader_b.get_metrics_data()) == expected
        self.collections += 1

    def fast(self) -> bool:
        return all(fast_path_in_use(h) for h in self.b._handles._data.values())

    def shutdown(self) -> None:
        self.provider_a.shutdown()
        self.provider_b.shutdown()


def _cumulative() -> list[MetricReader]:
    return [InMemoryMetricReader()]


def _delta() -> list[MetricReader]:
    return [InMemoryMetricReader(preferred_temporality={Histogram: AggregationTemporality.DELTA})]


def _both() -> list[MetricReader]:
    return [*_cumulative(), *_delta()]


@pytest.fixture
def fallback(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Run a scenario on the fast path, then as if the SDK's internals were laid out otherwise."""
    off = bool(request.param)
    if off:
        internals = _bound_metrics._Internals()
        internals.ok = False
        monkeypatch.setattr(_bound_metrics, "_internals", internals)
    return off


both_paths = pytest.mark.parametrize(
    "fallback", [False, True], indirect=True, ids=["fast", "public"]
)


def _fast_expected(fallback: bool) -> bool:
    """Whether the fast path should be in use: the installed SDK supports it, not forced off."""
    return not fallback and _bound_metrics._sdk().ok


@both_paths
@pytest.mark.parametrize(
    "readers", [_cumulative, _delta, _both], ids=["cumulative", "delta", "both"]
)
def test_same_points_as_record(fallback: bool, readers: Callable[[], list[MetricReader]]) -> None:
    twins = Twins(readers)
    twins.every()
    with _tracer.start_as_current_span("request"):  # exemplars of a sampled span
        twins.every()
    twins.check()
    twins.record(0.5, SETS[0])  # delta: one set only in this period
    twins.check()
    twins.check()  # delta: nothing new
    with _unsampled.start_as_current_span("not sampled"):
        twins.every()
    twins.check()
    assert twins.fast() is _fast_expected(fallback)
    twins.shutdown()


@both_paths
@pytest.mark.parametrize(
    "views",
    [
        [View(instrument_name=NAME, attribute_keys={"http.route", "flag"})],
        [View(instrument_name=NAME, aggregation=ExplicitBucketHistogramAggregation([1.0, 2.0]))],
        [
            View(
                instrument_name=NAME,
                aggregation=ExplicitBucketHistogramAggregation([0.01], record_min_max=False),
            )
        ],
        [View(instrument_name=NAME), View(instrument_name=NAME, name="renamed")],
    ],
    ids=["attribute_keys", "boundaries", "no_min_max", "two_views"],
)
def test_views_that_keep_an_explicit_histogram(fallback: bool, views: list[View]) -> None:
    for readers in (_cumulative, _delta):
        twins = Twins(readers, views=views)
        with _tracer.start_as_current_span("request"):
            twins.every()
        twins.check()
        twins.every()
        twins.check()
        assert twins.fast() is _fast_expected(fallback)
        twins.shutdown()


@pytest.mark.parametrize(
    "aggregation",
    [DropAggregation(), ExponentialBucketHistogramAggregation()],
    ids=["drop", "exponential"],
)
def test_views_that_change_the_aggregation_use_record(aggregation: Any) -> None:
    from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter

    # (no exemplars: an exponential histogram's reservoir samples at random)
    twins = Twins(
        _both,
        views=[View(instrument_name=NAME, aggregation=aggregation)],
        exemplar_filter=AlwaysOffExemplarFilter(),
    )
    with _tracer.start_as_current_span("request"):
        twins.every()
    twins.check()
    assert not any(fast_path_in_use(h) for h in twins.b._handles._data.values())
    twins.shutdown()


def test_a_view_on_another_instrument_leaves_the_fast_path() -> None:
    twins = Twins(_cumulative, views=[View(instrument_name="other", aggregation=DropAggregation())])
    twins.every()
    twins.check()
    assert twins.fast() is _bound_metrics._sdk().ok
    twins.shutdown()


@both_paths
def test_cardinality_overflow(fallback: bool) -> None:
    try:
        views = [View(instrument_name=NAME, aggregation_cardinality_limit=2)]
    except TypeError:
        pytest.skip("this SDK has no cardinality limit")
    for readers in (_cumulative, _delta):
        twins = Twins(readers, views=views)
        twins.every()
        twins.check()
        twins.every()
        twins.check()
        twins.shutdown()


@both_paths
@pytest.mark.parametrize("exemplars", ["always_on", "always_off", "trace_based"])
def test_exemplar_filters_and_contexts(fallback: bool, exemplars: str) -> None:
    from opentelemetry.sdk.metrics import (
        AlwaysOffExemplarFilter,
        AlwaysOnExemplarFilter,
        TraceBasedExemplarFilter,
    )

    kinds: dict[str, Any] = {
        "always_on": AlwaysOnExemplarFilter,
        "always_off": AlwaysOffExemplarFilter,
        "trace_based": TraceBasedExemplarFilter,
    }
    chosen = kinds[exemplars]()
    twins = Twins(_both, exemplar_filter=chosen)
    twins.every()  # no span
    with _unsampled.start_as_current_span("unsampled"):
        twins.every()
    with _tracer.start_as_current_span("outer") as outer:
        twins.every()
        elsewhere = trace_api.set_span_in_context(outer)
    with _tracer.start_as_current_span("other"):
        for attributes in SETS:  # an explicit context wins over the current one
            twins.record(0.02, attributes, elsewhere)
    twins.check()
    twins.shutdown()


@both_paths
def test_values_the_sdk_refuses(fallback: bool, caplog: pytest.LogCaptureFixture) -> None:
    twins = Twins(_cumulative)
    for value in (math.nan, math.inf, -math.inf, -1.0):
        twins.record(value, SETS[0])
    twins.record(0.1, SETS[0])
    twins.check()
    twins.shutdown()


@both_paths
def test_a_refused_first_value_leaves_no_empty_point(fallback: bool) -> None:
    """A handle whose first value the SDK refuses must not create the aggregation the SDK
    never would (a cumulative reader would export it with count 0)."""
    twins = Twins(_cumulative)
    twins.record(math.nan, SETS[1])
    twins.record(-1.0, SETS[2])
    twins.check()
    twins.record(0.2, SETS[0])
    twins.check()
    twins.shutdown()


@both_paths
def test_an_empty_context_means_the_current_one(fallback: bool) -> None:
    """As the SDK: ``context or get_current()``: an empty Context links the current span."""
    from opentelemetry.context import Context
    from opentelemetry.sdk.metrics import AlwaysOnExemplarFilter

    twins = Twins(_cumulative, exemplar_filter=AlwaysOnExemplarFilter())
    with _tracer.start_as_current_span("request"):
        twins.record(0.3, SETS[0], Context())
    twins.check()
    twins.shutdown()


def test_a_meter_disabled_before_the_first_value_records_nothing() -> None:
    twins = Twins(_cumulative)
    if not hasattr(twins.provider_a, "_set_meter_configurator"):
        pytest.skip("this SDK has no meter configurator")
    from opentelemetry.sdk.metrics._internal import _disable_meter_configurator

    for provider in (twins.provider_a, twins.provider_b):
        provider._set_meter_configurator(meter_configurator=_disable_meter_configurator)
    twins.every()
    twins.check()
    twins.shutdown()


def test_a_disabled_meter_records_nothing() -> None:
    twins = Twins(_cumulative)
    if not hasattr(twins.provider_a, "_set_meter_configurator"):
        pytest.skip("this SDK has no meter configurator")
    from opentelemetry.sdk.metrics._internal import _disable_meter_configurator

    twins.every()
    for provider in (twins.provider_a, twins.provider_b):
        provider._set_meter_configurator(meter_configurator=_disable_meter_configurator)
    twins.every()
    twins.check()
    twins.shutdown()


@pytest.mark.parametrize("readers", [_cumulative, list], ids=["one_reader", "no_reader"])
def test_a_reader_added_later_gets_the_values_recorded_after(
    readers: Callable[[], list[MetricReader]],
) -> None:
    twins = Twins(readers)
    if not hasattr(twins.provider_a, "add_metric_reader"):
        pytest.skip("this SDK cannot add readers")
    twins.every()
    late_a, late_b = InMemoryMetricReader(), InMemoryMetricReader()
    twins.provider_a.add_metric_reader(late_a)
    twins.provider_b.add_metric_reader(late_b)
    twins.readers_a.append(late_a)
    twins.readers_b.append(late_b)
    with _tracer.start_as_current_span("request"):
        twins.every()
    twins.check()
    assert _normal(late_b.get_metrics_data())
    twins.shutdown()


def _points(reader: InMemoryMetricReader) -> list[Any]:
    data = reader.get_metrics_data()
    assert data is not None
    return list(data.resource_metrics[0].scope_metrics[0].metrics[0].data.data_points)


def test_follows_obs_swapping_the_provider() -> None:
    first, second = InMemoryMetricReader(), InMemoryMetricReader()
    proxy = SwappableMeterProvider(MeterProvider(metric_readers=[first]))
    histogram = proxy.get_meter("obs.test").create_histogram(NAME)
    handle = BoundHistogram(histogram, SETS[0])
    handle.record(0.1)
    proxy.swap(MeterProvider(metric_readers=[second]))
    handle.record(0.2)
    handle.record(0.3)
    (point_1,) = _points(first)
    (point_2,) = _points(second)
    assert (point_1.count, point_1.sum) == (1, 0.1)
    assert (point_2.count, point_2.sum) == (2, 0.5)
    assert dict(point_2.attributes or {}) == SETS[0]
    assert fast_path_in_use(handle) is _bound_metrics._sdk().ok
    proxy.swap(NoOpMeterProvider())  # metrics off: the no-op instrument's record
    handle.record(0.4)
    assert not fast_path_in_use(handle)


def test_a_histogram_that_is_not_the_sdks_uses_its_record() -> None:
    calls: list[tuple[Any, ...]] = []

    class Recorder:
        def record(self, amount: float, attributes: Any = None, context: Any = None) -> None:
            calls.append((amount, attributes, context))

    handle = BoundHistogram(Recorder(), {"a": 1})  # type: ignore[arg-type]
    handle.record(0.5)
    assert calls == [(0.5, {"a": 1}, None)]
    assert not fast_path_in_use(handle)


def test_the_bound_attributes_are_a_copy() -> None:
    attributes = {"http.route": "/a"}
    twins = Twins(_cumulative)
    handle = twins.handle(attributes)
    attributes["http.route"] = "/changed"
    handle.record(0.1)
    twins.a.record(0.1, {"http.route": "/a"})
    twins.check()
    twins.shutdown()


def test_handles_are_bounded() -> None:
    twins = Twins(_cumulative)
    small = BoundHistograms(twins.b.histogram, max_sets=3)
    for i in range(10):
        small.bind(i, {"n": i}).record(0.1)
        twins.a.record(0.1, {"n": i})
    assert len(small._handles) == 3
    twins.check()
    twins.shutdown()


def test_no_value_is_lost_to_a_concurrent_delta_collection() -> None:
    reader = InMemoryMetricReader(preferred_temporality={Histogram: AggregationTemporality.DELTA})
    provider = MeterProvider(metric_readers=[reader])
    histogram = provider.get_meter("obs.test").create_histogram(NAME)
    handles = BoundHistograms(histogram)
    threads, per_thread = 4, 3000
    counted = 0
    done = threading.Event()

    def collect() -> int:
        data = reader.get_metrics_data()
        if data is None:
            return 0
        return sum(
            int(getattr(p, "count", 0))
            for rm in data.resource_metrics
            for sm in rm.scope_metrics
            for m in sm.metrics
            for p in m.data.data_points
        )

    def work(n: int) -> None:
        handle = handles.bind(n % 2, SETS[n % 2])
        for _ in range(per_thread):
            handle.record(0.01)

    def collector() -> None:
        nonlocal counted
        while not done.is_set():
            counted += collect()

    watcher = threading.Thread(target=collector)
    watcher.start()
    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    done.set()
    watcher.join()
    counted += collect()
    assert counted == threads * per_thread
    provider.shutdown()


def test_the_fast_path_is_in_use_with_the_installed_sdk() -> None:
    """Pins the SDK internals the fast path reads (see the module docstring for 1.30)."""
    import opentelemetry.sdk.version

    internals = _bound_metrics._Internals()
    version = tuple(int(p) for p in opentelemetry.sdk.version.__version__.split(".")[:2])
    if version < (1, 45):
        # 1.30 keys aggregations by frozenset and has no _hash_attributes: the public record.
        # (Releases in between: whichever they support; the equivalence tests hold on both.)
        if version <= (1, 30):
            assert not internals.ok
        return
    assert internals.ok
    for readers in (_cumulative, _delta):
        twins = Twins(readers)
        twins.every()
        assert twins.fast()
        plans = [h._plan for h in twins.b._handles._data.values()]
        kinds = {(len(p.direct or ()), len(p.locked)) for p in plans if p is not None}
        assert kinds == ({(1, 0)} if readers is _cumulative else {(0, 1)})
        twins.shutdown()
