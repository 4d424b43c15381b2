"""Span attributes in a plain dict, with exactly the SDK's limits, truncation and drop counts.

The SDK keeps a span's attributes in a ``BoundedAttributes`` (a mapping with its own lock,
validating every value through a chain of isinstance checks); building one is a third of an
SDK span. Here the common values (exact ``str`` within the length limit, ``bool``, ``int``,
``float``, and tuples/lists of one of those) are checked inline and stored in a plain dict.
Anything else (a long string to truncate, a mapping, ``None``, an odd type, a non-str key) goes
through the installed SDK's own ``BoundedAttributes`` on a one-item scratch instance, so its
cleaning, warnings and drop accounting apply unchanged whatever the SDK release.

Placement follows the SDK: setting an existing key moves it to the end, and a full span drops
its oldest attribute (counted) to make room.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from opentelemetry.attributes import BoundedAttributes

_sdk_logger = logging.getLogger("opentelemetry.attributes")

_SCALARS = (bool, int, float)


def fast_value(value: Any, max_length: int | None) -> bool:
    """True if the SDK would store ``value`` unchanged (no cleaning, no warning)."""
    kind = type(value)
    if kind is str:
        return max_length is None or len(value) <= max_length
    if kind in _SCALARS:
        return True
    if kind is tuple or kind is list:
        if not value:
            return True
        # Loops, not ``all(<generator>)``: sequences here are short, a generator costs more.
        first = type(value[0])
        if first is str:
            for item in value:
                if type(item) is not str or (max_length is not None and len(item) > max_length):
                    return False
            return True
        if first in _SCALARS:
            for item in value:  # noqa: SIM110 - see above
                if type(item) is not first:
                    return False
            return True
    return False


def place(store: dict[str, Any], key: str, value: Any, max_count: int | None, dropped: int) -> int:
    """Put a cleaned value in ``store`` as the SDK does; returns the new drop count."""
    if key in store:
        del store[key]
    elif max_count is not None and len(store) >= max_count:
        if _WARNS_WHEN_FULL:
            _sdk_logger.warning(
                "Attributes dict is full. Dropping the oldest key-value pair from attributes to "
                "make space for the new key-value pair."
            )
        del store[next(iter(store))]
        dropped += 1
    store[key] = value
    return dropped


def set_one(
    store: dict[str, Any],
    key: Any,
    value: Any,
    max_count: int | None,
    max_length: int | None,
    dropped: int,
) -> int:
    """``span.set_attribute(key, value)``; returns the new drop count."""
    if max_count == 0:
        return dropped + 1
    if type(key) is str and key and fast_value(value, max_length):
        if type(value) is list:
            value = tuple(value)
        return place(store, key, value, max_count, dropped)
    scratch = BoundedAttributes(None, None, immutable=False, max_value_len=max_length)
    scratch[key] = value
    dropped += scratch.dropped
    for cleaned_key in scratch:
        dropped = place(store, cleaned_key, scratch[cleaned_key], max_count, dropped)
    return dropped


def set_many(
    store: dict[str, Any],
    attributes: Mapping[str, Any],
    max_count: int | None,
    max_length: int | None,
    dropped: int,
) -> int:
    """``span.set_attributes(mapping)`` and a span's initial attributes."""
    if max_count == 0:
        return dropped + len(attributes)
    if not store and (max_count is None or len(attributes) <= max_count):
        # A new span's attributes: nothing to move or drop; plain values are stored as given.
        for key, value in attributes.items():
            kind = type(value)
            if kind is str:
                plain = max_length is None or len(value) <= max_length
            elif kind is tuple or kind is list:  # e.g. Burr's ``writes``: checked item by item
                plain = fast_value(value, max_length)
                if plain and kind is list:
                    value = tuple(value)  # as the SDK stores a sequence
            else:
                plain = kind is int or kind is float or kind is bool
            if not plain or type(key) is not str or not key:
                store.clear()
                break
            store[key] = value
        else:
            return dropped
    elif max_count is None or len(store) + len(attributes) <= max_count:
        # Attributes added to a live span (an integration's end-of-request set) with room
        # for every key: nothing is dropped, so plain values are placed as given, in order
        # (an existing key moves to the end, as the SDK moves it). Anything else: below.
        for key, value in attributes.items():
            kind = type(value)
            if kind is str:
                if max_length is not None and len(value) > max_length:
                    break
            elif kind is not int and kind is not float and kind is not bool:
                break
            if type(key) is not str or not key:
                break
        else:
            for key, value in attributes.items():
                store.pop(key, None)  # an existing key moves to the end
                store[key] = value
            return dropped
    cleaned: list[tuple[str, Any]] = []
    for key, value in attributes.items():
        if type(key) is str and key and fast_value(value, max_length):
            cleaned.append((key, tuple(value) if type(value) is list else value))
            continue
        if not _CLEAN_ALL_FIRST:
            for item in cleaned:
                dropped = place(store, item[0], item[1], max_count, dropped)
            cleaned.clear()
        # Through the SDK's own mapping path, one item at a time to keep the order.
        scratch = BoundedAttributes(None, {key: value}, immutable=False, max_value_len=max_length)
        dropped += scratch.dropped
        cleaned.extend((k, scratch[k]) for k in scratch)
    # Newer SDKs clean the whole mapping, then place each item (so their warnings come in
    # that order); older ones clean and place item by item.
    for key, value in cleaned:
        if key in store or (max_count is not None and len(store) >= max_count):
            dropped = place(store, key, value, max_count, dropped)
        else:
            store[key] = value
    return dropped


_CLEAN_ALL_FIRST = hasattr(BoundedAttributes, "_set_items")


def _warns_when_full() -> bool:
    """Whether this SDK logs when a full span drops its oldest attribute (newer ones do)."""
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    handler = Keep(logging.WARNING)
    disabled, _sdk_logger.disabled = _sdk_logger.disabled, False
    propagate, _sdk_logger.propagate = _sdk_logger.propagate, False
    level = _sdk_logger.level
    _sdk_logger.setLevel(logging.WARNING)
    _sdk_logger.addHandler(handler)
    try:
        probe = BoundedAttributes(1, immutable=False)
        probe["a"] = 1
        probe["b"] = 2
    finally:
        _sdk_logger.removeHandler(handler)
        _sdk_logger.setLevel(level)
        _sdk_logger.disabled, _sdk_logger.propagate = disabled, propagate
    return bool(seen)


_WARNS_WHEN_FULL = _warns_when_full()
