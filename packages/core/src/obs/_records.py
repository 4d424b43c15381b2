"""``NamedTuple`` without importing ``typing`` at run time, for the ``obs`` command's read path.

``typing`` costs the command about a tenth of its start-up (``obs trace ID`` answers in ~50 ms,
most of it the interpreter and the standard library it needs). Type checkers see
``typing.NamedTuple``; at run time the same class statement builds a
``collections.namedtuple`` with the fields (annotations, in order), their trailing defaults,
and the class's methods, properties and docstring — what ``typing.NamedTuple`` does for the
classes written here (no generics, no field named like a method).

    from obs._records import TYPE_CHECKING

    if TYPE_CHECKING:
        from typing import NamedTuple
    else:
        from obs._records import NamedTuple

``TYPE_CHECKING`` here is a plain ``False`` (type checkers treat any name ``TYPE_CHECKING`` as
true), so importing it does not import ``typing`` either.
"""

from __future__ import annotations

import collections

TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import Any

_SKIP = frozenset({"__annotations__", "__module__", "__qualname__", "__orig_bases__", "__dict__"})


class _Builder(type):
    def __new__(mcls, name: str, bases: tuple[type, ...], namespace: dict[str, object]) -> type:
        if not bases:  # ``NamedTuple`` itself
            return super().__new__(mcls, name, bases, namespace)
        annotations = namespace.get("__annotations__", {})
        assert isinstance(annotations, dict)
        fields = list(annotations)
        defaults = [namespace[field] for field in fields if field in namespace]
        make: Any = collections.namedtuple  # fields known only here: not for type checkers
        built: type = make(name, fields, defaults=defaults, module=namespace.get("__module__"))
        for key, value in namespace.items():
            if key not in _SKIP and key not in annotations:
                setattr(built, key, value)
        built.__qualname__ = str(namespace.get("__qualname__", name))
        return built


class NamedTuple(metaclass=_Builder):
    """Subclass it as ``typing.NamedTuple``; the subclass is a ``collections.namedtuple``."""
