"""Package attributes loaded on first use (PEP 562), for ``obs`` itself and integration packages.

The registry imports an integration's package to load its entry point at
``configure(instrument=True)``, before the application may use the host at all: the package's
``__init__`` must stay cheap and must not import the host. ``lazy_exports`` gives it a module
``__getattr__`` that imports each public name's module only when the name is first used.

``obs`` uses the same for its own facade: ``import obs`` (and every ``obs._...`` module, whose
parent package runs first) would otherwise import the OpenTelemetry SDK, alerts, scrubbing and
the logging bridges, which the ``obs`` command's store queries never use.

The first access stores the value in the package's namespace, so later accesses are plain
attribute lookups: ``obs.span`` and ``obs.info`` sit on hot paths and must not pay for a
``__getattr__`` call each time.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping

from obs._records import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """``__getattr__ = lazy_exports(__name__, {"Name": "package._module", ...})``.

    A value ``"package._module:attribute"`` exports that attribute under another name
    (``"extract": "obs._propagation:extract_context"``).
    """
    table = {name: _split(name, target) for name, target in exports.items()}

    def __getattr__(name: str) -> Any:
        target = table.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attribute = target
        value = getattr(importlib.import_module(module), attribute)
        owner = sys.modules.get(package)
        if owner is not None:
            # Cached: Python calls a module's __getattr__ only for names it does not hold.
            setattr(owner, name, value)
        return value

    return __getattr__


def lazy_dir(package: str, exports: Mapping[str, str]) -> Callable[[], list[str]]:
    """``__dir__ = lazy_dir(__name__, ...)``: ``dir(package)`` lists names not loaded yet too."""
    names = frozenset(exports)

    def __dir__() -> list[str]:
        owner = sys.modules.get(package)
        return sorted(names.union(vars(owner) if owner is not None else ()))

    return __dir__


def _split(name: str, target: str) -> tuple[str, str]:
    module, _, attribute = target.partition(":")
    return module, attribute or name
