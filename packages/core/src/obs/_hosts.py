"""Finding the host objects that existed before obs was switched on.

``obs.configure(instrument=True)`` may run after the application already made its app, broker
or client. The integration then instruments those it can (or names them in a warning), which
needs the live instances of a class: the garbage collector knows them, because an instance of a
class defined in Python refers to its type. This walks the collector's objects once, at
instrument time, never per request.
"""

from __future__ import annotations

import gc
from typing import Any, TypeVar

T = TypeVar("T")


def _subclasses(cls: type[Any]) -> list[type[Any]]:
    found, todo = [], [cls]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            todo.extend(current.__subclasses__())
        except TypeError:  # ``type.__subclasses__`` needs an argument
            continue
    return found


def live_instances(cls: type[T]) -> list[T]:
    """The instances of ``cls`` (and its subclasses) alive now, oldest first where known."""
    classes = tuple(_subclasses(cls))
    seen: set[int] = set()
    out: list[T] = []
    for klass in classes:
        for obj in gc.get_referrers(klass):
            if type(obj) in classes and id(obj) not in seen:
                seen.add(id(obj))
                out.append(obj)
    return out
