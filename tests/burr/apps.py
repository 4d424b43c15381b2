"""Small real Burr applications the tests trace."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Generator
from typing import Any

from burr.core import Application, ApplicationBuilder, State, action, default, expr
from burr.core.action import streaming_action
from burr.lifecycle.base import LifecycleAdapter

import obs
from obs_burr import ObsHooks


class ActionFailed(Exception):
    """What the failing actions raise."""


@action(reads=["n"], writes=["n"])
def inc(state: State) -> State:
    obs.info("inc {n}", n=state["n"])
    return state.update(n=state["n"] + 1)


@action(reads=["n"], writes=["done"])
def finish(state: State, __tracer: Any) -> State:
    with __tracer("prepare"), __tracer("lookup"):
        obs.info("deep inside")
    return state.update(done=True)


@action(reads=["n"], writes=["n"])
async def ainc(state: State) -> State:
    await asyncio.sleep(0)
    with obs.span("async work"):
        await asyncio.sleep(0)
    return state.update(n=state["n"] + 1)


@action(reads=["n"], writes=["n"])
def explode(state: State) -> State:
    raise ActionFailed("boom")


@action(reads=["n"], writes=["n"])
async def aexplode(state: State) -> State:
    await asyncio.sleep(0)
    raise ActionFailed("async boom")


@streaming_action(reads=["n"], writes=["text"])
def talk(state: State) -> Generator[tuple[dict[str, Any], State | None], None, None]:
    words = []
    for i in range(3):
        with obs.span("token {i}", i=i):
            obs.info("producing")
            words.append(f"w{i}")
            yield {"word": f"w{i}"}, None
    yield {"text": " ".join(words)}, state.update(text=" ".join(words))


@streaming_action(reads=["n"], writes=["text"])
async def atalk(state: State) -> AsyncGenerator[tuple[dict[str, Any], State | None], None]:
    words = []
    for i in range(3):
        await asyncio.sleep(0)
        obs.info("producing")
        words.append(f"w{i}")
        yield {"word": f"w{i}"}, None
    yield {"text": " ".join(words)}, state.update(text=" ".join(words))


def counter(
    *hooks: LifecycleAdapter,
    steps: int = 2,
    app_id: str | None = None,
    partition_key: str | None = None,
) -> Application[Any]:
    """inc x ``steps``, then finish."""
    builder = (
        ApplicationBuilder()
        .with_actions(inc=inc, finish=finish)
        .with_transitions(("inc", "inc", expr(f"n < {steps}")), ("inc", "finish", default))
        .with_state(n=0)
        .with_entrypoint("inc")
        .with_identifiers(app_id=app_id, partition_key=partition_key)
    )
    if hooks:
        builder = builder.with_hooks(*hooks)
    return builder.build()


def async_counter(*hooks: LifecycleAdapter, steps: int = 2, app_id: str | None = None) -> Any:
    builder = (
        ApplicationBuilder()
        .with_actions(ainc=ainc, inc=inc)
        .with_transitions(("ainc", "ainc", expr(f"n < {steps}")), ("ainc", "inc", default))
        .with_state(n=0)
        .with_entrypoint("ainc")
        .with_identifiers(app_id=app_id)
        .with_hooks(*hooks)
    )
    return builder.build()


def streamer(*hooks: LifecycleAdapter, is_async: bool = False) -> Application[Any]:
    return (
        ApplicationBuilder()
        .with_actions(inc=inc, talk=atalk if is_async else talk)
        .with_transitions(("inc", "talk", default))
        .with_state(n=0)
        .with_entrypoint("inc")
        .with_hooks(*hooks)
        .build()
    )


def failing(*hooks: LifecycleAdapter, is_async: bool = False) -> Application[Any]:
    return (
        ApplicationBuilder()
        .with_actions(inc=inc, explode=aexplode if is_async else explode)
        .with_transitions(("inc", "explode", default))
        .with_state(n=0)
        .with_entrypoint("inc")
        .with_hooks(*hooks)
        .build()
    )


def hooks(**options: Any) -> ObsHooks:
    return ObsHooks(**options)
