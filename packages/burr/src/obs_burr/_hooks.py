"""``ObsHooks``: Burr lifecycle hooks that trace applications with obs.

One span per application call, named as a GenAI workflow invocation (``invoke_workflow
<name>``; the method, ``run``/``step``/``stream_result``/..., is ``burr.method``), one child span
per action executed (``step <action>``, or ``execute_tool <action>`` for actions marked as
tools), the action's ``__tracer`` spans under it, and the step span current while the action
runs, so whatever the action does (an OpenAI call, a FastStream publish, ``obs.span``) lands
under it. Each application call also records ``gen_ai.invoke_workflow.duration``.

Only the synchronous hook variants are implemented, on purpose: Burr calls them for async
applications too (``call_all_lifecycle_hooks_sync_and_async`` runs the sync hooks inline in the
awaiting task), while its async variants run under ``asyncio.gather``, i.e. in new tasks with
copied contexts, where making the step span current cannot reach the action, and each costs a
task. An adapter implementing both would be called twice per event in async applications.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from opentelemetry import metrics as metrics_api
from opentelemetry import trace as trace_api

from obs.instrumentation import BoundedCache, IntegrationOptions
from obs_burr import _streams
from obs_burr._calls import CallHooks
from obs_burr._semconv import (
    DURATION_BUCKETS,
    INVOKE_WORKFLOW,
    OPERATION,
    SCOPE,
    VERSION,
    WORKFLOW_DURATION,
    WORKFLOW_NAME,
)
from obs_burr._steps import StepHooks
from obs_burr._tracer_spans import TracerSpanHooks

#: Actions whose step span name and fixed attributes are kept (the oldest are forgotten).
MAX_STEP_STATICS = 1024


class ObsHooks(CallHooks, StepHooks, TracerSpanHooks):
    """Burr lifecycle adapter: ``ApplicationBuilder().with_hooks(ObsHooks())``.

    :param name: the workflow's name (``gen_ai.workflow.name``, and the span name
        ``invoke_workflow <name>``). Without one the span is plain ``invoke_workflow``: app ids
        are usually UUIDs, and span names must stay low in cardinality (the app id is
        ``burr.app_id`` and ``gen_ai.conversation.id``).
    :param tools: names of actions to trace as tool executions (``execute_tool <action>``), in
        addition to actions tagged ``"tool"``.
    :param capture_content: record action inputs, results, written state values and
        ``__tracer`` attributes (scrubbed); ``None`` follows ``obs.configure(capture_content=)``.
    :param tracer_provider: emit through this provider instead of the global one.

    One instance may be shared by any number of applications, concurrently. Add it once per
    application (``obs.instrument("burr")`` adds one to every application it sees).
    """

    #: Hooks the user creates keep the stream wrappers installed (see ``_streams``).
    _pin_streams: ClassVar[bool] = True

    def __init__(
        self,
        *,
        name: str | None = None,
        tools: Iterable[str] = (),
        capture_content: bool | None = None,
        tracer_provider: trace_api.TracerProvider | None = None,
        meter_provider: metrics_api.MeterProvider | None = None,
    ) -> None:
        self._name = name
        self._call_name = f"{INVOKE_WORKFLOW} {name}" if name else INVOKE_WORKFLOW
        self._tools = frozenset(tools)
        # Bounded: applications built per request bring new action objects each time.
        self._step_statics = BoundedCache(MAX_STEP_STATICS)
        # The overrides every integration has, resolved the shared way (``capture()``, ...).
        self._options = IntegrationOptions(
            capture_content=capture_content,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
        )
        self._tracer = self._options.tracer(SCOPE, VERSION)
        self._duration = self._options.meter(SCOPE, VERSION).create_histogram(
            WORKFLOW_DURATION,
            unit="s",
            description="Duration of a GenAI workflow invocation (a Burr application call)",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
        )
        workflow: dict[str, Any] = {OPERATION: INVOKE_WORKFLOW}
        if name:
            workflow[WORKFLOW_NAME] = name
        self._workflow_attributes = workflow
        #: Switched off by the integration when it is uninstrumented (apps keep the object).
        self.enabled = True
        _streams.install(pin=self._pin_streams)


class IntegrationHooks(ObsHooks):
    """The hooks ``obs.instrument("burr")`` adds; it installs and removes the stream wrappers."""

    _pin_streams: ClassVar[bool] = False
