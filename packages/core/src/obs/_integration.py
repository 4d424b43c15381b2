"""The base class every obs integration subclasses.

An integration only translates host events into obs calls; what every integration needs is
here, once:

- one instance per class, whose state cannot be lost: ``opentelemetry-instrument`` creates a
  new instance each time (``Class().instrument()``) and obs's registry creates its own, and
  they must be the same object with the same record of what was patched;
- options parsed into the integration's typed dataclass (``options``) before ``_instrument``
  runs (:mod:`obs._options`);
- patches made through :meth:`Integration.wrap`, undone by the base on ``uninstrument``
  (:mod:`obs._patching`); a failing ``_instrument`` is rolled back the same way;
- the host imported only when the application imports it: with ``host_module`` set,
  ``instrument()`` arms a post-import hook instead of importing the host.
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable
from typing import Any, ClassVar

from obs._diagnostics import internal_error, warn_once
from obs._hosts import live_instances
from obs._options import IntegrationOptions, parse_options
from obs._patching import Patch, Wrapper, wrap
from obs._runtime import runtime

_creating = threading.Lock()


class _State:
    """What one integration instance knows; created with the instance, never replaced."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.instrumented = False
        #: True once ``_instrument`` ran (False while waiting for the host to be imported).
        self.active = False
        self.options: IntegrationOptions | None = None
        self.patches: list[Patch] = []
        #: Identifies the current arming; a post-import hook from an older one does nothing.
        self.generation = 0


class Integration:
    """One host framework's instrumentation.

    Subclasses set ``name``, ``requirement`` (a PEP 508 requirement on the host, also declared
    as the distribution's ``instruments`` extra so the registry can check it before importing
    anything), optionally ``options`` (their options dataclass) and ``host_module`` (the module
    whose import switches them on), and implement ``_instrument(options)``; ``_uninstrument``
    is only for what :meth:`wrap` did not do. ``instrument`` is idempotent, ``uninstrument``
    restores the host exactly.

    An integration module must not import its host at module level: the registry imports the
    entry point only after the requirement check passed, and maybe before the host is used.
    """

    name: ClassVar[str] = ""
    requirement: ClassVar[str] = ""
    #: The options dataclass ``instrument(**options)`` is parsed into.
    options: ClassVar[type[IntegrationOptions]] = IntegrationOptions
    #: Instrument when this module is imported (None: at once, in ``instrument``).
    host_module: ClassVar[str | None] = None

    _instance: ClassVar[Integration | None] = None
    _state: _State

    def __new__(cls, *args: Any, **kwargs: Any) -> Integration:
        instance = cls.__dict__.get("_instance")
        if instance is None:
            with _creating:  # two threads asking at once still get one instance
                instance = cls.__dict__.get("_instance")
                if instance is None:
                    instance = super().__new__(cls)
                    instance._state = _State()
                    cls._instance = instance
        return instance

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None:
            # A subclass' own __init__ runs once: a second ``Class()`` (as
            # opentelemetry-instrument makes) must not reset what the first one patched.
            cls.__init__ = _once_per_instance(init)  # type: ignore[method-assign]

    @classmethod
    def instance(cls) -> Integration:
        """The one instance of this integration."""
        return cls()

    # -- the public contract --------------------------------------------------------------
    @property
    def is_instrumented(self) -> bool:
        return self._state.instrumented

    @property
    def waiting_for(self) -> str | None:
        """The host module it waits for (instrumented, but the app has not imported it yet)."""
        state = self._state
        if state.instrumented and not state.active:
            return type(self).host_module
        return None

    @property
    def current_options(self) -> IntegrationOptions | None:
        """The parsed options it was instrumented with (None when not instrumented)."""
        return self._state.options

    def instrument(self, **options: Any) -> None:
        """Switch on (idempotent). A bad option raises ``OptionsError`` and changes nothing."""
        # opentelemetry-instrument passes this; the registry has already checked the host.
        options.pop("skip_dep_check", None)
        parsed = parse_options(type(self).options, self.name, options)
        state = self._state
        with state.lock:
            if state.instrumented:
                if parsed != state.options:
                    warn_once(
                        f"integration:{self.name}:options",
                        "obs: integration %r is already instrumented; the new options are "
                        "ignored (uninstrument it first to change them)",
                        self.name,
                    )
                return
            state.generation += 1
            module = type(self).host_module
            if module is None or module in sys.modules:
                self._activate(parsed)
            else:
                generation = state.generation
                self._arm(module, lambda: self._activate_later(parsed, generation))
            state.options = parsed
            state.instrumented = True
            runtime().instrumented[self.name] = self

    def uninstrument(self) -> None:
        state = self._state
        with state.lock:
            if not state.instrumented:
                return
            state.generation += 1
            try:
                if state.active:
                    self._uninstrument()
            finally:
                self._undo_patches()
                state.active = False
                state.instrumented = False
                state.options = None
                if runtime().instrumented.get(self.name) is self:
                    del runtime().instrumented[self.name]

    # -- what subclasses use --------------------------------------------------------------
    def wrap(self, owner: object, attribute: str, wrapper: Wrapper) -> Patch:
        """Wrap ``owner.attribute``; undone on ``uninstrument`` (see :mod:`obs._patching`)."""
        patch = wrap(owner, attribute, wrapper)
        self._state.patches.append(patch)
        return patch

    def every_instance(self, cls: type[Any], adopt: Callable[[Any], None]) -> Patch:
        """Call ``adopt(instance)`` for every instance of ``cls``: those that exist now (made
        before obs was switched on) and each new one, right after its ``__init__``.

        ``adopt`` must not raise for an odd instance (its failure is logged once and the
        instance is left as it is); the ``__init__`` patch is undone on ``uninstrument``.
        """

        def adopt_safely(instance: Any) -> None:
            try:
                adopt(instance)
            except Exception as exc:
                internal_error(f"{self.name}: instrumenting a {type(instance).__name__}", exc)

        def init(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: Any) -> None:
            wrapped(*args, **kwargs)
            adopt_safely(instance)

        patch = self.wrap(cls, "__init__", init)
        for instance in live_instances(cls):
            adopt_safely(instance)
        return patch

    def _instrument(self, options: Any) -> None:
        raise NotImplementedError

    def _uninstrument(self) -> None:
        """Undo what ``wrap`` does not (per-object state); patches are undone by the base."""

    # -- mechanics ------------------------------------------------------------------------
    def _activate(self, options: IntegrationOptions) -> None:
        try:
            self._instrument(options)
        except BaseException:
            self._undo_patches()  # never half-instrumented
            raise
        self._state.active = True

    def _activate_later(self, options: IntegrationOptions, generation: int) -> None:
        state = self._state
        with state.lock:
            if state.generation != generation or state.active:
                return  # uninstrumented (or re-armed) since
            try:
                self._activate(options)
            except Exception as exc:
                # Inside the application's own import: never let obs break it.
                internal_error(f"instrumenting {self.name} when its host was imported", exc)
                state.instrumented = False
                state.options = None
                runtime().instrumented.pop(self.name, None)

    @staticmethod
    def _arm(module: str, callback: Callable[[], None]) -> None:
        import wrapt

        wrapt.register_post_import_hook(lambda _module: callback(), module)

    def _undo_patches(self) -> None:
        patches = self._state.patches
        while patches:
            patches.pop().undo()

    def __repr__(self) -> str:
        state = "instrumented" if self._state.instrumented else "not instrumented"
        return f"<{type(self).__name__} {self.name!r} {state}>"


def _once_per_instance(init: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(init)
    def __init__(self: Integration, *args: Any, **kwargs: Any) -> None:
        done = self.__dict__.setdefault("_initialised", set())
        if init in done:
            return
        done.add(init)
        init(self, *args, **kwargs)

    return __init__
