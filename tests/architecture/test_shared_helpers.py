"""The helpers every part of obs shares: one span-tree walk, one bounded cache."""

from __future__ import annotations

import contextlib

import obs
from obs.testing import Capture


def test_a_very_deep_trace_renders_without_recursion(obs_capture: Capture) -> None:
    depth = 3000  # deeper than the interpreter's recursion limit
    with contextlib.ExitStack() as stack:
        for i in range(depth):
            stack.enter_context(obs.span(f"level {i}"))
    tree = obs_capture.tree()
    assert len(tree) == depth
    assert tree[-1] == "  " * (depth - 1) + f"level {depth - 1}"


def test_tree_without_logs_leaves_out_log_spans_and_what_is_under_them(
    obs_capture: Capture,
) -> None:
    with obs.span("outer"):
        obs.info("noted")
        with obs.span("inner"):
            pass
    assert obs_capture.tree(logs=False) == ["outer", "  inner"]
    assert obs_capture.tree() == ["outer", "  noted", "  inner"]


def test_bounded_cache_forgets_the_oldest() -> None:
    from obs.instrumentation import BoundedCache

    cache: BoundedCache[int, str] = BoundedCache(3)
    for i in range(5):
        cache.put(i, str(i))
    assert len(cache) == 3
    assert 0 not in cache
    assert 1 not in cache
    assert cache.get(4) == "4"
    cache.put(4, "four")  # an update does not evict
    assert len(cache) == 3
    assert cache.get(2) == "2"
