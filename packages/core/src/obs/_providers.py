"""Swappable global providers.

OpenTelemetry lets the global tracer and meter providers be set once per process. obs installs
one proxy of each, once, and swaps what sits behind them on every ``obs.configure()``: tracers
and instruments handed out earlier (by integrations, or by user code at import time) follow
the new configuration, and the old SDK providers can be shut down (their export threads with
them). Each proxy call is one attribute load and one call; the benchmark measures it.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import metrics as metrics_api
from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.metrics import CallbackT
from opentelemetry.util.types import Attributes


class SwappableTracerProvider(trace_api.TracerProvider):
    def __init__(self, delegate: trace_api.TracerProvider) -> None:
        self._delegate = delegate
        self._lock = threading.Lock()
        self._tracers: dict[tuple[Any, ...], SwappableTracer] = {}

    @property
    def delegate(self) -> trace_api.TracerProvider:
        return self._delegate

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: Attributes | None = None,
    ) -> trace_api.Tracer:
        key = (
            instrumenting_module_name,
            instrumenting_library_version,
            schema_url,
            tuple(sorted(attributes.items())) if attributes else None,
        )
        with self._lock:
            tracer = self._tracers.get(key)
            if tracer is None:
                tracer = SwappableTracer(key, self._delegate)
                self._tracers[key] = tracer
            return tracer

    def swap(self, delegate: trace_api.TracerProvider) -> None:
        with self._lock:
            self._delegate = delegate
            for tracer in self._tracers.values():
                tracer.bind(delegate)


class SwappableTracer(trace_api.Tracer):
    __slots__ = ("_key", "_real")

    def __init__(self, key: tuple[Any, ...], provider: trace_api.TracerProvider) -> None:
        self._key = key
        self.bind(provider)

    def bind(self, provider: trace_api.TracerProvider) -> None:
        name, version, schema_url, attributes = self._key
        self._real = provider.get_tracer(
            name, version, schema_url, dict(attributes) if attributes else None
        )

    def start_span(
        self,
        name: str,
        context: Context | None = None,
        kind: trace_api.SpanKind = trace_api.SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Sequence[trace_api.Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> trace_api.Span:
        return self._real.start_span(
            name,
            context,
            kind,
            attributes,
            links,
            start_time,
            record_exception,
            set_status_on_exception,
        )

    @contextmanager
    def start_as_current_span(  # type: ignore[override]
        self,
        name: str,
        context: Context | None = None,
        kind: trace_api.SpanKind = trace_api.SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Sequence[trace_api.Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Iterator[trace_api.Span]:
        with self._real.start_as_current_span(
            name,
            context,
            kind,
            attributes,
            links,
            start_time,
            record_exception,
            set_status_on_exception,
            end_on_exit,
        ) as span:
            yield span


# -- metrics ------------------------------------------------------------------------------


class _Instrument:
    """Holds what is needed to re-create the instrument on a new meter."""

    _kind = ""

    def __init__(self, name: str, kwargs: dict[str, Any], meter: metrics_api.Meter) -> None:
        self.name = name
        self._kwargs = kwargs
        self.bind(meter)

    def bind(self, meter: metrics_api.Meter) -> None:
        self._real = getattr(meter, "create_" + self._kind)(self.name, **self._kwargs)


class _Counter(_Instrument, metrics_api.Counter):
    _kind = "counter"

    def add(
        self, amount: int | float, attributes: Attributes = None, context: Context | None = None
    ) -> None:
        self._real.add(amount, attributes, context)


class _UpDownCounter(_Instrument, metrics_api.UpDownCounter):
    _kind = "up_down_counter"

    def add(
        self, amount: int | float, attributes: Attributes = None, context: Context | None = None
    ) -> None:
        self._real.add(amount, attributes, context)


class _Histogram(_Instrument, metrics_api.Histogram):
    _kind = "histogram"

    def record(
        self, amount: int | float, attributes: Attributes = None, context: Context | None = None
    ) -> None:
        self._real.record(amount, attributes, context)


class _Gauge(_Instrument, metrics_api._Gauge):
    _kind = "gauge"

    def set(
        self, amount: int | float, attributes: Attributes = None, context: Context | None = None
    ) -> None:
        self._real.set(amount, attributes, context)


class _ObservableCounter(_Instrument, metrics_api.ObservableCounter):
    _kind = "observable_counter"


class _ObservableUpDownCounter(_Instrument, metrics_api.ObservableUpDownCounter):
    _kind = "observable_up_down_counter"


class _ObservableGauge(_Instrument, metrics_api.ObservableGauge):
    _kind = "observable_gauge"


class SwappableMeter(metrics_api.Meter):
    def __init__(self, key: tuple[Any, ...], provider: metrics_api.MeterProvider) -> None:
        super().__init__(key[0], key[1], key[2])
        self._key = key
        self._lock = threading.Lock()
        # Held weakly: an instrument nobody holds any more (an integration switched on again
        # with new options) need not be re-bound, and must not pile up per configure().
        # Observable instruments are held strongly: their callbacks are why they exist.
        self._instruments: weakref.WeakSet[_Instrument] = weakref.WeakSet()
        self._observables: list[_Instrument] = []
        self.bind(provider)

    def bind(self, provider: metrics_api.MeterProvider) -> None:
        name, version, schema_url, attributes = self._key
        self._real = provider.get_meter(
            name, version, schema_url, dict(attributes) if attributes else None
        )
        with self._lock:
            for instrument in [*self._instruments, *self._observables]:
                instrument.bind(self._real)

    def _make(self, cls: type[_Instrument], name: str, **kwargs: Any) -> Any:
        instrument = cls(name, kwargs, self._real)
        with self._lock:
            if kwargs.get("callbacks"):
                self._observables.append(instrument)
            else:
                self._instruments.add(instrument)
        return instrument

    def create_counter(
        self, name: str, unit: str = "", description: str = ""
    ) -> metrics_api.Counter:
        return self._make(_Counter, name, unit=unit, description=description)  # type: ignore[no-any-return]

    def create_up_down_counter(
        self, name: str, unit: str = "", description: str = ""
    ) -> metrics_api.UpDownCounter:
        return self._make(_UpDownCounter, name, unit=unit, description=description)  # type: ignore[no-any-return]

    def create_histogram(
        self,
        name: str,
        unit: str = "",
        description: str = "",
        *,
        explicit_bucket_boundaries_advisory: Sequence[float] | None = None,
    ) -> metrics_api.Histogram:
        return self._make(  # type: ignore[no-any-return]
            _Histogram,
            name,
            unit=unit,
            description=description,
            explicit_bucket_boundaries_advisory=explicit_bucket_boundaries_advisory,
        )

    def create_gauge(self, name: str, unit: str = "", description: str = "") -> metrics_api._Gauge:
        return self._make(_Gauge, name, unit=unit, description=description)  # type: ignore[no-any-return]

    def create_observable_counter(
        self,
        name: str,
        callbacks: Sequence[CallbackT] | None = None,
        unit: str = "",
        description: str = "",
    ) -> metrics_api.ObservableCounter:
        return self._make(  # type: ignore[no-any-return]
            _ObservableCounter, name, callbacks=callbacks, unit=unit, description=description
        )

    def create_observable_up_down_counter(
        self,
        name: str,
        callbacks: Sequence[CallbackT] | None = None,
        unit: str = "",
        description: str = "",
    ) -> metrics_api.ObservableUpDownCounter:
        return self._make(  # type: ignore[no-any-return]
            _ObservableUpDownCounter,
            name,
            callbacks=callbacks,
            unit=unit,
            description=description,
        )

    def create_observable_gauge(
        self,
        name: str,
        callbacks: Sequence[CallbackT] | None = None,
        unit: str = "",
        description: str = "",
    ) -> metrics_api.ObservableGauge:
        return self._make(  # type: ignore[no-any-return]
            _ObservableGauge, name, callbacks=callbacks, unit=unit, description=description
        )


class SwappableMeterProvider(metrics_api.MeterProvider):
    def __init__(self, delegate: metrics_api.MeterProvider) -> None:
        self._delegate = delegate
        self._lock = threading.Lock()
        self._meters: dict[tuple[Any, ...], SwappableMeter] = {}

    @property
    def delegate(self) -> metrics_api.MeterProvider:
        return self._delegate

    def get_meter(
        self,
        name: str,
        version: str | None = None,
        schema_url: str | None = None,
        attributes: Attributes | None = None,
    ) -> metrics_api.Meter:
        key = (name, version, schema_url, tuple(sorted(attributes.items())) if attributes else None)
        with self._lock:
            meter = self._meters.get(key)
            if meter is None:
                meter = SwappableMeter(key, self._delegate)
                self._meters[key] = meter
            return meter

    def swap(self, delegate: metrics_api.MeterProvider) -> None:
        with self._lock:
            self._delegate = delegate
            meters = list(self._meters.values())
        for meter in meters:
            meter.bind(delegate)
