"""The ``burr`` entry-point integration (group ``obs.integrations``).

``obs.instrument("burr")`` puts one shared :class:`~obs_burr.ObsHooks` in front of the hooks of
every application built afterwards (``ApplicationBuilder.build``/``abuild`` both go through
``_build_common``), including the sub-applications ``burr.core.parallelism`` builds, which
never receive the parent's hooks. Builders that already carry an ``ObsHooks`` are left alone.

Applications built before obs was switched on cannot get hooks any more: each is named once in
a warning. An application that would carry both obs's hooks and Burr's
``OpenTelemetryBridge`` is built without the bridge (said once), since both would record every
call, step and ``__tracer`` span. Uninstrumenting restores the builder and switches the shared
hooks off, so applications built meanwhile stop emitting too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from obs.instrumentation import (
    Integration,
    IntegrationOptions,
    internal_error,
    live_instances,
    warn_once,
)


@dataclass(frozen=True)
class BurrOptions(IntegrationOptions):
    """``obs.instrument("burr", **options)``."""

    #: The applications' name in span names (``invoke_workflow <name>``).
    name: str | None = None
    #: Actions traced as tool executions (``execute_tool <action>``).
    tools: Sequence[str] = ()


class BurrIntegration(Integration):
    name = "burr"
    requirement = "apache-burr>=0.40"
    options = BurrOptions
    host_module = "burr.core.application"

    _hooks: Any = None

    def _instrument(self, options: BurrOptions) -> None:
        # The host is imported only now: the application imported it.
        from burr.core.application import Application, ApplicationBuilder

        from obs_burr import _streams
        from obs_burr._hooks import IntegrationHooks

        hooks = IntegrationHooks(
            name=options.name,
            tools=options.tools,
            capture_content=options.capture_content,
            tracer_provider=options.tracer_provider,
            meter_provider=options.meter_provider,
        )

        def build(wrapped: Any, builder: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            adapters = builder.lifecycle_adapters
            try:
                chosen = _adapters_with_obs(hooks, adapters)
            except Exception as exc:
                internal_error("burr build", exc)
                chosen = adapters
            if chosen is adapters:
                return wrapped(*args, **kwargs)
            # The builder's own list is restored, so the builder is left as it was.
            builder.lifecycle_adapters = chosen
            try:
                return wrapped(*args, **kwargs)
            finally:
                builder.lifecycle_adapters = adapters

        self.wrap(ApplicationBuilder, "_build_common", build)
        self._hooks = hooks
        _streams.install()
        for app in live_instances(Application):
            _name_untraced(app)

    def _uninstrument(self) -> None:
        from obs_burr import _streams

        if self._hooks is not None:
            self._hooks.enabled = False
        self._hooks = None
        _streams.uninstall()


def _adapters_with_obs(hooks: Any, adapters: list[Any]) -> list[Any]:
    """The hooks an application gets: obs's first, once, and without Burr's bridge."""
    from obs_burr._hooks import ObsHooks

    if not hooks.enabled:
        return adapters
    chosen = adapters
    if not any(isinstance(a, ObsHooks) for a in adapters):
        # First, so the step span is current while the other hooks (persisters, trackers) run.
        chosen = [hooks, *adapters]
    bridges = [a for a in chosen if type(a).__name__ == "OpenTelemetryBridge"]
    if bridges:
        warn_once(
            "burr:bridge",
            "obs: a Burr application has both obs's hooks and Burr's OpenTelemetryBridge; obs "
            "builds it without the bridge, which would record every call, step and __tracer "
            "span a second time",
        )
        chosen = [a for a in chosen if a not in bridges]
    return chosen


def _name_untraced(app: Any) -> None:
    from obs_burr._hooks import ObsHooks

    adapters = getattr(getattr(app, "_adapter_set", None), "adapters", ())
    if any(isinstance(a, ObsHooks) for a in adapters):
        return
    app_id = getattr(app, "uid", None) or getattr(app, "_uid", "?")
    warn_once(
        f"burr:untraced:{app_id}",
        "obs: the Burr application %s was built before obs.instrument('burr') and is not "
        "traced; build it after obs.configure(), or give its builder ObsHooks()",
        app_id,
    )
