"""Several applications at once, in one event loop or in threads: every span stays in its own
application's trace."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from opentelemetry.trace import get_current_span

from obs_burr import ObsHooks
from tests.burr.apps import async_counter, counter, streamer


def assert_one_trace_per_app(obs_capture, apps: list[str]) -> None:
    traces = obs_capture.traces()
    assert len(traces) == len(apps)
    for spans in traces.values():
        owners = {
            s.attributes["burr.app_id"] for s in spans if "burr.app_id" in (s.attributes or {})
        }
        assert len(owners) == 1, owners
        # every span of the trace hangs off that application's call span
        assert len(obs_capture.roots()) == len(apps)
    assert sorted(r.attributes["burr.app_id"] for r in obs_capture.roots()) == sorted(apps)


async def test_concurrent_async_apps_in_one_loop(obs_capture):
    hooks = ObsHooks(name="shared")  # one instance serving every application
    ids = [f"app-{i}" for i in range(6)]
    await asyncio.gather(
        *(async_counter(hooks, steps=3, app_id=i).arun(halt_after=["inc"]) for i in ids)
    )

    assert_one_trace_per_app(obs_capture, ids)
    for root in obs_capture.roots():
        assert obs_capture.tree([root], logs=False) == [
            "invoke_workflow shared",
            "  step ainc",
            "    async work",
            "  step ainc",
            "    async work",
            "  step ainc",
            "    async work",
            "  step inc",
        ]
    assert not get_current_span().get_span_context().is_valid


async def test_concurrent_async_streams_interleaved(obs_capture):
    hooks = ObsHooks(name="chat")
    apps = [streamer(hooks, is_async=True) for _ in range(4)]

    async def consume(app):
        _, container = await app.astream_result(halt_after=["talk"])
        async for _ in container:
            await asyncio.sleep(0)

    await asyncio.gather(*(consume(a) for a in apps))
    assert_one_trace_per_app(obs_capture, [a.uid for a in apps])
    for step in obs_capture.find("step talk"):
        assert [c.name for c in obs_capture.children(step)] == ["producing"] * 3


def test_concurrent_apps_in_threads(obs_capture):
    hooks = ObsHooks(name="threaded")
    ids = [f"t-{i}" for i in range(8)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda i: counter(hooks, steps=3, app_id=i).run(halt_after=["finish"]), ids))

    assert_one_trace_per_app(obs_capture, ids)
    for root in obs_capture.roots():
        assert obs_capture.tree([root], logs=False)[:3] == [
            "invoke_workflow threaded",
            "  step inc",
            "  step inc",
        ]
