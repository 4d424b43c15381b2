"""Package attributes loaded on first use (PEP 562), for integration packages.

The registry imports an integration's package to load its entry point at
``configure(instrument=True)``, before the application may use the host at all: the package's
``__init__`` must stay cheap and must not import the host. ``lazy_exports`` gives it a module
``__getattr__`` that imports each public name's module only when the name is first used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """``__getattr__ = lazy_exports(__name__, {"Name": "package._module", ...})``."""
    table = dict(exports)

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    return __getattr__
