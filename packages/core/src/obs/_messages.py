"""Rendering message templates (``"user {name} created"``) for logs and templated spans.

Rendering never raises: a template that does not format is kept as it is. A field whose name
marks a secret (``{password}``) is rendered as the scrubbed marker, because the scrubber sees
the rendered text only later, when the value's name is no longer next to it.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from obs import _settings

_formatter = string.Formatter()
_fields_cache: dict[str, tuple[str, ...]] = {}


def _fields(template: str) -> tuple[str, ...]:
    fields = _fields_cache.get(template)
    if fields is None:
        names = []
        for _, field_name, _, _ in _formatter.parse(template):
            if field_name:
                names.append(field_name.split(".", 1)[0].split("[", 1)[0])
        fields = tuple(names)
        if len(_fields_cache) > 4096:  # templates should be constants; bound a misuse
            _fields_cache.clear()
        _fields_cache[template] = fields
    return fields


class _Missing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(template: str, values: Mapping[str, Any]) -> str:
    if "{" not in template:
        return template
    try:
        fields = _fields(template)
        scrubber = _settings.current().scrubber
        view = _Missing(values)
        if scrubber is not None:
            for name in fields:
                pattern = scrubber.key_pattern(name)
                if pattern is not None and name in view:
                    view[name] = f"[scrubbed: {pattern}]"
        return template.format_map(view)
    except Exception:
        return template
