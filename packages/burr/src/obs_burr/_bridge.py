"""Burr's ``OpenTelemetryBridge`` added by hand beside ``ObsHooks``: one span per ``__tracer``.

Both record a span for every ``__tracer`` block under the same name, so each block would show
twice (the bridge's nested in obs's or the other way round) and the bridge would copy logged
attributes onto obs's span whether or not the user opted into content. ``obs.instrument``
builds such applications without the bridge (``_integration``); by hand there is no build to
intercept, so ``ObsHooks`` takes the bridge out of the application's ``__tracer`` hooks when
the application is created: the ``__tracer`` spans are obs's (with ``burr.action`` and the
sequence id, under obs's step span), the bridge keeps its call and step spans.
"""

from __future__ import annotations

import sys
from typing import Any

from obs.instrumentation import warn_once

#: The hooks through which the bridge records ``__tracer`` spans and their attributes.
_TRACER_HOOKS = ("pre_start_span", "post_end_span", "do_log_attributes")


def _is_bridge(adapter: object) -> bool:
    # By name, like ``_integration``: importing Burr's OpenTelemetry module costs an import.
    return type(adapter).__name__ == "OpenTelemetryBridge"


def calling_adapter_set(hooks: object) -> Any:
    """The adapter set calling a hook of ``hooks`` right now, or None.

    Burr hands hooks no reference to the application; the set is the ``self`` of the frame
    that called the hook (``LifecycleAdapterSet.call_all_lifecycle_hooks_sync``).
    """
    try:
        frame = sys._getframe(2)  # this function's caller is the hook, whose caller is the set
    except ValueError:  # the hook called from the top of a stack, not by Burr
        return None
    owner = frame.f_locals.get("self")
    sync_hooks = getattr(owner, "sync_hooks", None)
    if not isinstance(sync_hooks, dict):
        return None
    return owner if any(hooks in adapters for adapters in sync_hooks.values()) else None


def leave_tracer_spans_to_obs(adapter_set: Any) -> None:
    """Take any bridge out of the set's ``__tracer`` hooks (said once)."""
    sync_hooks: dict[str, list[Any]] = adapter_set.sync_hooks
    found = False
    for hook in _TRACER_HOOKS:
        adapters = sync_hooks.get(hook)
        if adapters and any(_is_bridge(a) for a in adapters):
            found = True
            # A new list: the set's lists are its own, but never change one Burr is iterating.
            sync_hooks[hook] = [a for a in adapters if not _is_bridge(a)]
    if found:
        warn_once(
            "burr:bridge-by-hand",
            "obs: a Burr application has both ObsHooks and Burr's OpenTelemetryBridge; obs "
            "records its __tracer spans alone (the bridge would record each a second time) and "
            "leaves the bridge its call and step spans",
        )
