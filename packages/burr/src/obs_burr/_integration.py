"""The ``burr`` entry-point integration (group ``obs.integrations``).

``obs.instrument("burr")`` puts one shared :class:`~obs_burr.ObsHooks` in front of the hooks of
every application built afterwards (``ApplicationBuilder.build``/``abuild`` both go through
``_build_common``), including the sub-applications ``burr.core.parallelism`` builds, which
never receive the parent's hooks. Builders that already carry an ``ObsHooks`` are left alone.
Uninstrumenting restores the builder and switches the shared hooks off, so applications built
meanwhile stop emitting too.
"""

from __future__ import annotations

import functools
from typing import Any

from obs.instrumentation import Integration, internal_error


class BurrIntegration(Integration):
    name = "burr"
    requirement = "apache-burr>=0.40"

    # Class-level defaults, not set in ``__init__``: the base class hands out one shared
    # instance, and a second ``BurrIntegration()`` must not forget what is patched.
    _original_build: Any = None
    _hooks: Any = None

    def _instrument(self, **options: Any) -> None:
        # The host is imported only now: the registry has checked the requirement.
        from burr.core.application import ApplicationBuilder

        from obs_burr import _streams
        from obs_burr._hooks import IntegrationHooks, ObsHooks

        hooks = IntegrationHooks(
            name=options.get("name"),
            tools=options.get("tools", ()),
            capture_content=options.get("capture_content"),
            tracer_provider=options.get("tracer_provider"),
            meter_provider=options.get("meter_provider"),
        )
        original = ApplicationBuilder._build_common

        @functools.wraps(original)
        def _build_common(builder: Any) -> Any:
            adapters = builder.lifecycle_adapters
            try:
                add = hooks.enabled and not any(isinstance(a, ObsHooks) for a in adapters)
            except Exception as exc:
                internal_error("burr build", exc)
                add = False
            if not add:
                return original(builder)
            # First, so the step span is current while the other hooks (persisters, trackers)
            # run; the builder's own list is restored, so the builder is left as it was.
            builder.lifecycle_adapters = [hooks, *adapters]
            try:
                return original(builder)
            finally:
                builder.lifecycle_adapters = adapters

        ApplicationBuilder._build_common = _build_common  # type: ignore[method-assign,assignment]
        self._original_build = original
        self._hooks = hooks
        _streams.install()

    def _uninstrument(self) -> None:
        from burr.core.application import ApplicationBuilder

        from obs_burr import _streams

        if self._original_build is not None:
            ApplicationBuilder._build_common = self._original_build  # type: ignore[method-assign]
        if self._hooks is not None:
            self._hooks.enabled = False
        self._original_build = None
        self._hooks = None
        _streams.uninstall()
