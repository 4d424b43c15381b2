"""Text from stored or recorded data made safe to print on a terminal.

Span names, messages, attributes and error texts come from outside (a request path, a header,
a model's output). Printed raw, ESC starts terminal escape sequences (retitle the window, move
the cursor, rewrite earlier lines), CR overwrites a line, and bidirectional overrides make a
line read differently from what it holds. Each such character is shown as a visible escape
(``\\x1b``, ``\\u202e``) instead; everything else, other scripts included, passes unchanged.
"""

from __future__ import annotations

_BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))


def _escape(code: int) -> str:
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_TABLE: dict[int, str] = {
    code: _escape(code) for code in (*range(0x20), 0x7F, *range(0x80, 0xA0), *_BIDI)
}
_FLAT = {**_TABLE, ord("\n"): " ", ord("\t"): " "}
_MULTILINE = {**_TABLE, ord("\n"): "\n", ord("\t"): "\t"}


def safe_text(value: object, *, keep_newlines: bool = False) -> str:
    """``str(value)`` with control and bidi-override characters neutralised.

    Newlines and tabs become spaces (one line per value), or stay with ``keep_newlines``.
    """
    text = "" if value is None else str(value)
    return text.translate(_MULTILINE if keep_newlines else _FLAT)
