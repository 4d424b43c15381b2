"""The one way obs changes a host: wrap an attribute, and undo exactly what was done.

``wrap(owner, name, wrapper)`` replaces ``owner.name`` (a class, module or instance attribute)
by a wrapt ``FunctionWrapper`` around what was there, and returns a :class:`Patch` whose
``undo()`` puts back the very object that was in ``owner.__dict__`` (or removes the attribute
when it was inherited or absent).

Someone may wrap over obs's wrapper afterwards (another instrumentation, a test double). Putting
the original back then would silently throw their wrapper away, so ``undo`` leaves the
attribute alone, switches obs's wrapper off (it passes straight through from then on) and says
so once, naming the attribute.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from typing import Any

from obs._diagnostics import warn_once

#: ``wrapper(wrapped, instance, args, kwargs)``: wrapt's wrapper signature.
Wrapper = Callable[[Any, Any, tuple[Any, ...], dict[str, Any]], Any]

_MISSING = object()


def describe_target(owner: object, name: str) -> str:
    label = getattr(owner, "__qualname__", None) or getattr(owner, "__name__", None)
    return f"{label or type(owner).__name__}.{name}"


class Patch:
    """One wrapped attribute; ``undo()`` restores it exactly (or leaves a newer wrapper alone)."""

    __slots__ = ("_lock", "active", "name", "original", "owner", "wrapper")

    def __init__(self, owner: object, name: str, original: object, wrapper: object) -> None:
        self.owner = owner
        self.name = name
        #: What ``owner.__dict__[name]`` held before (``_MISSING``: inherited or absent).
        self.original = original
        self.wrapper = wrapper
        #: False once undone: the wrapper, wherever it still sits, passes straight through.
        self.active = True
        self._lock = threading.Lock()

    @property
    def target(self) -> str:
        return describe_target(self.owner, self.name)

    def is_current(self) -> bool:
        """Is obs's wrapper still what the attribute holds?"""
        return _own_dict(self.owner).get(self.name, _MISSING) is self.wrapper

    def undo(self) -> bool:
        """Restore the attribute; False when someone wrapped over obs (theirs is kept)."""
        with self._lock:
            if not self.active:
                return True
            self.active = False
            if not self.is_current():
                warn_once(
                    f"patch:wrapped-over:{self.target}",
                    "obs: %s was wrapped again after obs instrumented it; obs leaves that "
                    "wrapper in place and only switches its own off (it now passes calls "
                    "straight through)",
                    self.target,
                )
                return False
            if self.original is _MISSING:
                delattr(self.owner, self.name)
            else:
                setattr(self.owner, self.name, self.original)
            return True

    def __repr__(self) -> str:
        state = "active" if self.active else "undone"
        return f"<Patch {self.target} {state}>"


def _own_dict(owner: object) -> Mapping[str, Any]:
    try:
        return vars(owner)
    except TypeError:  # an object without __dict__ (slots): nothing of its own to compare
        return {}


@functools.cache
def _wrapper_class() -> type[Any]:
    # wrapt (and the asyncio it imports) is loaded on the first patch, not with ``import obs``.
    import wrapt

    class ObsWrapper(wrapt.FunctionWrapper):  # type: ignore[type-arg]
        """obs's wrapper type: recognisable, so obs never wraps its own wrapper twice."""

    return ObsWrapper


def is_wrapped_by_obs(value: object) -> bool:
    return isinstance(value, _wrapper_class())


def wrap(owner: object, name: str, wrapper: Wrapper) -> Patch:
    """Wrap ``owner.name`` with ``wrapper(wrapped, instance, args, kwargs)``.

    The wrapper runs only while the patch is active; after ``undo()`` (even when the attribute
    could not be restored) calls go straight to the original.
    """
    own = _own_dict(owner)
    original = own.get(name, _MISSING)
    current = original if original is not _MISSING else getattr(owner, name)
    if is_wrapped_by_obs(current):
        raise RuntimeError(f"obs: {describe_target(owner, name)} is already wrapped by obs")
    patch = Patch(owner, name, original, None)
    patch.wrapper = _wrapper_class()(current, wrapper, enabled=lambda: patch.active)
    setattr(owner, name, patch.wrapper)
    return patch


__all__ = ["Patch", "Wrapper", "is_wrapped_by_obs", "wrap"]
