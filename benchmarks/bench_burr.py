"""Burr: cost per step, bare vs obs's hooks vs Burr's own ``OpenTelemetryBridge``.

One round runs ``RUNS`` fresh applications of ``STEPS`` steps each (one ``run``/``arun`` call
per application), so the application call span is spread over ``STEPS`` steps and the figure
is per step: one ``step <action>`` span plus 1/``STEPS`` of a ``invoke_workflow <name>`` span. The target
(issue 14) is overhead ≤ 0.75 × one bare SDK span, and ≤ ⅓ of the bridge's.

The bridge runs on the plain SDK pipeline, obs on its own (scrubbing included), the bare
application with no hooks at all; the bridge is measured on obs's pipeline too, which
separates what the hooks cost from what the pipeline costs, and a "floor" hook that only
starts and ends one span per step shows what any span costs inside a running application:
an SDK span on the plain batch pipeline, and obs's lean span on obs's batch processor (the
cheapest span there is, so the real floor under obs-burr). Sync (``run``) and async (``arun``) are separate
groups. Each row's note gives its overhead paired per round (minus the bare
application of the same round) against a bare SDK span measured in that same round.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from benchmarks._harness import (
    SDK_SPAN_CASE,
    Group,
    Result,
    interleaved,
    lean_provider,
    paired_note,
    plain_provider,
    use_obs,
    use_plain,
)
from benchmarks._harness import sdk_spans as harness_sdk_spans  # the name is a local here

STEPS = 200
RUNS = 10
OPS = STEPS * RUNS

SDK = SDK_SPAN_CASE
BARE = "burr, no hooks (bare)"
OBS = "obs ObsHooks"
BRIDGE = "burr OpenTelemetryBridge"
BRIDGE_ON_OBS = "burr OpenTelemetryBridge, obs pipeline"
FLOOR = "floor: 1 bare span per step, plain"
LEAN_FLOOR = "floor: 1 lean span per step, obs batch"


def _floor_hooks() -> Any:
    """The least a span-per-step hook can do: one span, no attributes, not made current.

    It shows what a bare SDK span costs inside a running Burr application (more than in the
    tight loop that measures the table's reference span), i.e. the floor under any tracer.
    """
    from burr.lifecycle.base import PostRunStepHook, PreRunStepHook

    tracer = plain_provider().get_tracer("bench")

    class FloorHooks(PreRunStepHook, PostRunStepHook):
        span: Any = None

        def pre_run_step(self, **future_kwargs: Any) -> None:
            self.span = tracer.start_span("step")

        def post_run_step(self, **future_kwargs: Any) -> None:
            self.span.end()

    return FloorHooks()


def _lean_floor_hooks() -> Any:
    """The floor hook with obs's lean span instead of the SDK's: the cheapest span per step.

    Nothing obs-burr could do costs less than this; the gap between it and ``ObsHooks`` is
    what obs-burr's own work (attributes, context, the step record, obs's pipeline) costs.
    """
    from burr.lifecycle.base import PostRunStepHook, PreRunStepHook

    tracer = lean_provider().get_tracer("bench")

    class LeanFloorHooks(PreRunStepHook, PostRunStepHook):
        span: Any = None

        def pre_run_step(self, **future_kwargs: Any) -> None:
            self.span = tracer.start_span("step")

        def post_run_step(self, **future_kwargs: Any) -> None:
            self.span.end()

    return LeanFloorHooks()


def _apps() -> tuple[Callable[..., Any], Callable[..., Any]]:
    from burr.core import ApplicationBuilder, State, action, default, expr

    @action(reads=["n"], writes=["n"])
    def count(state: State) -> State:
        return state.update(n=state["n"] + 1)

    @action(reads=["n"], writes=["n"])
    async def acount(state: State) -> State:
        return state.update(n=state["n"] + 1)

    @action(reads=["n"], writes=[])
    def done(state: State) -> State:
        return state

    def build(step: Any, hooks: list[Any]) -> Any:
        builder = (
            ApplicationBuilder()
            .with_actions(count=step, done=done)
            .with_transitions(
                ("count", "count", expr(f"n < {STEPS - 1}")), ("count", "done", default)
            )
            .with_state(n=0)
            .with_entrypoint("count")
        )
        if hooks:
            builder = builder.with_hooks(*hooks)
        return builder.build()

    def sync_app(hooks: list[Any]) -> Any:
        return build(count, hooks)

    def async_app(hooks: list[Any]) -> Any:
        return build(acount, hooks)

    return sync_app, async_app


def _use_obs() -> None:
    # obs's local span store (a second, SQLite-writing export thread) is an exporter, not
    # instrumentation: off, so obs exports exactly what the plain pipeline does.
    use_obs(store=False)


def bench(rounds: int, sdk_span: Result) -> list[Group]:
    from burr.integrations.opentelemetry import OpenTelemetryBridge

    from obs_burr import ObsHooks

    sync_app, async_app = _apps()
    _use_obs()
    obs_hooks = ObsHooks(name="bench")
    bridge = OpenTelemetryBridge()
    # name -> (hooks, pipeline)
    setups: dict[str, tuple[list[Any], Callable[[], None]]] = {
        BARE: ([], use_plain),
        OBS: ([obs_hooks], _use_obs),
        BRIDGE: ([bridge], use_plain),
        BRIDGE_ON_OBS: ([bridge], _use_obs),
        FLOOR: ([_floor_hooks()], use_plain),
        LEAN_FLOOR: ([_lean_floor_hooks()], use_plain),
    }
    # The table's reference span, measured in the same rounds as the cases.
    sdk_spans = harness_sdk_spans(OPS)

    def sync_case(adapters: list[Any]) -> Callable[[], None]:
        def run() -> None:
            for _ in range(RUNS):
                sync_app(adapters).run(halt_after=["done"])

        return run

    loop = asyncio.new_event_loop()

    def async_case(adapters: list[Any]) -> Callable[[], None]:
        async def runs() -> None:
            for _ in range(RUNS):
                await async_app(adapters).arun(halt_after=["done"])

        return lambda: loop.run_until_complete(runs())

    groups = []
    try:
        for group_name, make in (("burr", sync_case), ("burr async", async_case)):
            cases: dict[str, Callable[[], None]] = {SDK: sdk_spans}
            cases.update({name: make(adapters) for name, (adapters, _) in setups.items()})
            before = {name: pipeline for name, (_, pipeline) in setups.items()}
            samples = interleaved(cases, OPS, rounds, before=before)
            span_round = samples.pop(SDK)
            bare_round = samples[BARE]
            group = Group(group_name, "step")
            for name, values in samples.items():
                adapters = setups[name][0]
                note = ""
                if adapters:
                    note = paired_note(values, bare_round, span_round)
                group.results.append(
                    Result(
                        group_name,
                        name,
                        values,
                        ""
                        if not adapters
                        else "1"
                        if name in (FLOOR, LEAN_FLOOR)
                        else f"1+1/{STEPS}",
                        baseline=not adapters,
                        note=note,
                    )
                )
            groups.append(group)
    finally:
        loop.close()
        use_obs()
    return groups
