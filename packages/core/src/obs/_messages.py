"""Rendering message templates (``"user {name} created"``) for logs and templated spans.

Rendering never raises: a template that does not format is kept as it is. A field whose name
marks a secret (``{password}``) is rendered as the scrubbed marker, because the scrubber sees
the rendered text only later, when the value's name is no longer next to it.

A template may name plain fields only (``{name}``, ``{name!r}``, ``{amount:.2f}``). Attribute
access and indexing (``{user.password}``, ``{creds[password]}``,
``{x.__init__.__globals__}``) would reach a value nobody scrubbed as a whole, and a template
may have been built from user input: such a field is rendered literally, as written. So is a
format spec that names another field or asks for a width past ``MAX_WIDTH`` (a template from
user input must not allocate gigabytes).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from obs._cache import BoundedCache
from obs._runtime import runtime

if TYPE_CHECKING:
    from obs._scrubbing import Scrubber

#: Widest padding or precision a format spec may ask for.
MAX_WIDTH = 1000
#: Parsed templates kept; templates should be constants, this bounds a misuse.
_CACHE_SIZE = 4096

_formatter = string.Formatter()

#: A parsed template: literal text, or a field as (name, conversion, spec, text as written).
_Part = str | tuple[str, str | None, str, str]
_parsed_cache: dict[str, tuple[_Part, ...]] = {}


def _as_written(name: str, conversion: str | None, spec: str) -> str:
    text = "{" + name
    if conversion:
        text += "!" + conversion
    if spec:
        text += ":" + spec
    return text + "}"


def _spec_allowed(spec: str) -> bool:
    if "{" in spec or "}" in spec:
        return False  # a nested field would reach another value, unchecked
    number = ""
    for ch in spec + " ":
        if ch.isdigit():
            number += ch
            continue
        if number and (len(number) > 4 or int(number) > MAX_WIDTH):
            return False
        number = ""
    return True


def _parse(template: str) -> tuple[_Part, ...]:
    parts: list[_Part] = []
    for literal, name, spec, conversion in _formatter.parse(template):
        if literal:
            # Parsing unescapes "{{": keep it as one brace, as str.format would.
            parts.append(literal)
        if name is None:
            continue
        spec = spec or ""
        written = _as_written(name, conversion, spec)
        if name.isidentifier() and conversion in (None, "r", "s", "a") and _spec_allowed(spec):
            parts.append((name, conversion, spec, written))
        else:
            parts.append(written)
    return tuple(parts)


def _parsed(template: str) -> tuple[_Part, ...]:
    parts = _parsed_cache.get(template)
    if parts is None:
        parts = _parse(template)
        if len(_parsed_cache) >= _CACHE_SIZE:
            _parsed_cache.clear()
        _parsed_cache[template] = parts
    return parts


def _field(value: Any, conversion: str | None, spec: str) -> str:
    if conversion == "r":
        value = repr(value)
    elif conversion == "s":
        value = str(value)
    elif conversion == "a":
        value = ascii(value)
    return format(value, spec)


#: A template ready for one scrubber: literal text, or a field as (name, conversion, spec,
#: text as written, the scrubbed marker when the field's name marks a secret, else None).
_Step = str | tuple[str, str | None, str, str, str | None]
#: Per template: the scrubber its plan was made for, and the plan. Rendering a log's message
#: is on every ``obs.info``; the key-pattern verdict per field is made once per template.
_runtime = runtime()
_plans: BoundedCache[str, tuple[Scrubber | None, tuple[_Step, ...]]] = BoundedCache(_CACHE_SIZE)


def _plan(template: str, scrubber: Scrubber | None) -> tuple[_Step, ...]:
    steps: list[_Step] = []
    for part in _parsed(template):
        if isinstance(part, str):
            steps.append(part)
            continue
        name, conversion, spec, written = part
        pattern = scrubber.key_pattern(name) if scrubber is not None else None
        marker = f"[scrubbed: {pattern}]" if pattern is not None else None
        steps.append((name, conversion, spec, written, marker))
    return tuple(steps)


def render(template: str, values: Mapping[str, Any]) -> str:
    if "{" not in template and "}" not in template:
        return template
    try:
        scrubber = _runtime.settings.scrubber  # ``_settings.current()``, one call less
        planned = _plans.get(template)
        if planned is None or planned[0] is not scrubber:
            planned = (scrubber, _plan(template, scrubber))
            _plans.put(template, planned)
        out: list[str] = []
        for step in planned[1]:
            if isinstance(step, str):
                out.append(step)
                continue
            name, conversion, spec, written, marker = step
            if name not in values:
                out.append(written)
            elif marker is not None:
                out.append(marker)
            else:
                value = values[name]
                if type(value) is str and conversion is None and not spec:
                    out.append(value)  # what format(value, "") returns, without the call
                else:
                    out.append(_field(value, conversion, spec))
        return "".join(out)
    except Exception:
        return template
