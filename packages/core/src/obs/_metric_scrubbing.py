"""Scrubbing metric point attributes and resources, when metrics are collected.

A metric attribute is as able to carry a secret as a span attribute
(``counter.add(1, {"password": ...})``, an integration's label holding a URL with a password),
and every metric leaves through a reader. Scrubbing there, at collection time, keeps it off
the hot path (``add``/``record`` cost nothing more) while no exporter, pull reader or test
reader ever sees a point that was not scrubbed: obs wraps the collect callback the meter
provider hands each of its readers, so what the reader receives is already clean.

Attribute sets repeat from one collection to the next: verdicts are cached per set.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from opentelemetry.sdk.metrics.export import MetricReader, MetricsData
from opentelemetry.sdk.resources import Resource

from obs._diagnostics import internal_error
from obs._scrubbing import Scrubber

# The GenAI token metrics' enumeration attributes (``gen_ai.token.type``) are identifier keys:
# see ``obs._scrub_options.IDENTIFIER_KEYS``.

_CACHE_SIZE = 10_000
_CLEAN: Mapping[str, Any] = {}


class MetricScrubber:
    def __init__(self, scrubber: Scrubber) -> None:
        self._scrubber = scrubber
        # attribute set -> its scrubbed copy, or _CLEAN when it needed nothing
        self._verdicts: dict[frozenset[tuple[str, Any]], Mapping[str, Any]] = {}

    def attributes(self, attributes: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        """A scrubbed copy of ``attributes``, or None when they are clean."""
        if not attributes:
            return None
        try:
            key: frozenset[tuple[str, Any]] | None = frozenset(attributes.items())
        except TypeError:  # an unhashable value (a list): decide without the cache
            key = None
        if key is not None:
            verdict = self._verdicts.get(key)
            if verdict is not None:
                return None if verdict is _CLEAN else verdict
        found: list[str] = []
        scrubbed = self._scrubber.scrub_attributes("", attributes, found)
        if key is not None:
            if len(self._verdicts) >= _CACHE_SIZE:
                self._verdicts.clear()
            self._verdicts[key] = _CLEAN if scrubbed is None else scrubbed
        return scrubbed

    def resource(self, resource: Resource) -> Resource:
        scrubbed = self.attributes(resource.attributes)
        if scrubbed is None:
            return resource
        return Resource(dict(scrubbed), resource.schema_url)

    def _points(self, points: Iterable[Any]) -> list[Any] | None:
        out: list[Any] | None = None
        items = list(points)
        for i, point in enumerate(items):
            changes: dict[str, Any] = {}
            attributes = self.attributes(point.attributes)
            if attributes is not None:
                changes["attributes"] = attributes
            exemplars = self._exemplars(getattr(point, "exemplars", None))
            if exemplars is not None:
                changes["exemplars"] = exemplars
            if changes:
                if out is None:
                    out = items
                out[i] = dataclasses.replace(point, **changes)
        return out

    def _exemplars(self, exemplars: Any) -> list[Any] | None:
        if not exemplars:
            return None
        out: list[Any] | None = None
        items = list(exemplars)
        for i, exemplar in enumerate(items):
            attributes = self.attributes(getattr(exemplar, "filtered_attributes", None))
            if attributes is not None:
                if out is None:
                    out = items
                out[i] = dataclasses.replace(exemplar, filtered_attributes=attributes)
        return out

    def metrics_data(self, data: MetricsData) -> MetricsData:
        resource_metrics = []
        changed = False
        for rm in data.resource_metrics:
            scope_metrics = []
            rm_changed = False
            for sm in rm.scope_metrics:
                metrics = []
                sm_changed = False
                for metric in sm.metrics:
                    data_: Any = metric.data
                    points = self._points(getattr(data_, "data_points", ()))
                    if points is not None:
                        metric = dataclasses.replace(
                            metric, data=dataclasses.replace(data_, data_points=points)
                        )
                        sm_changed = True
                    metrics.append(metric)
                if sm_changed:
                    sm = dataclasses.replace(sm, metrics=metrics)
                    rm_changed = True
                scope_metrics.append(sm)
            resource = self.resource(rm.resource)
            if rm_changed or resource is not rm.resource:
                rm = dataclasses.replace(rm, resource=resource, scope_metrics=scope_metrics)
                changed = True
            resource_metrics.append(rm)
        return MetricsData(resource_metrics=resource_metrics) if changed else data


def _scrubbing_collect(
    collect: Callable[..., MetricsData | None], scrubber: MetricScrubber
) -> Callable[..., MetricsData | None]:
    def collect_scrubbed(*args: Any, **kwargs: Any) -> MetricsData | None:
        data = collect(*args, **kwargs)
        if data is None:
            return None
        try:
            return scrubber.metrics_data(data)
        except Exception as exc:
            # Dropping the collection is the safe failure: exporting it unscrubbed could leak.
            internal_error("metric scrubbing (collection dropped)", exc)
            return None

    setattr(collect_scrubbed, "__wrapped__", collect)  # noqa: B010 - a function attribute
    return collect_scrubbed


def scrub_readers(readers: Iterable[MetricReader], scrubber: Scrubber | None) -> None:
    """Make each reader (already registered with a meter provider) receive scrubbed data."""
    if scrubber is None:
        return
    metric_scrubber = MetricScrubber(scrubber)
    for reader in readers:
        collect = getattr(reader, "_collect", None)
        if collect is None:
            continue
        collect = getattr(collect, "__wrapped__", collect)
        # The SDK's reader calls ``self._collect`` (set by the provider) on every collection.
        setattr(reader, "_collect", _scrubbing_collect(collect, metric_scrubber))  # noqa: B010
