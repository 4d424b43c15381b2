"""Burr: cost per step, bare vs obs's hooks vs Burr's own ``OpenTelemetryBridge``.

One round runs ``RUNS`` fresh applications of ``STEPS`` steps each (one ``run``/``arun`` call
per application), so the application call span is spread over ``STEPS`` steps and the figure
is per step: one ``step <action>`` span plus 1/``STEPS`` of a ``run <app>`` span. The target
is overhead ≤ 1.5 × one bare SDK span, and no more than the bridge's.

The bridge runs on the plain SDK pipeline, obs on its own (scrubbing included), the bare
application with no hooks at all; the bridge is measured on obs's pipeline too, which
separates what the hooks cost from what the pipeline costs. Sync (``run``) and async
(``arun``) are separate groups. Each obs/bridge row's note gives its overhead against a bare
SDK span measured in the same rounds as the cases.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Callable
from typing import Any

from benchmarks._harness import Group, Result, interleaved, plain_provider, use_obs, use_plain

STEPS = 200
RUNS = 10
OPS = STEPS * RUNS

SDK = "sdk span (plain), same rounds"
BARE = "burr, no hooks (bare)"
OBS = "obs ObsHooks"
BRIDGE = "burr OpenTelemetryBridge"
BRIDGE_ON_OBS = "burr OpenTelemetryBridge, obs pipeline"


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
    }
    reference = plain_provider().get_tracer("bench")

    def sdk_spans() -> None:
        # The same bare SDK span as the table's reference, measured in the same rounds as
        # the cases: on a loaded machine the ratio against it is the stable figure.
        for _ in range(OPS):
            reference.start_span("op", attributes={"a": 1, "b": "x"}).end()

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
            span_us = statistics.median(samples.pop(SDK))
            bare_us = statistics.median(samples[BARE])
            group = Group(group_name, "step")
            for name, values in samples.items():
                adapters = setups[name][0]
                over = statistics.median(values) - bare_us
                note = (
                    ""
                    if not adapters
                    else f"÷ SDK span of the same rounds ({span_us:.2f} µs): {over / span_us:.2f}×"
                )
                group.results.append(
                    Result(
                        group_name,
                        name,
                        values,
                        f"1+1/{STEPS}" if adapters else "",
                        baseline=not adapters,
                        note=note,
                    )
                )
            groups.append(group)
    finally:
        loop.close()
        use_obs()
    return groups
