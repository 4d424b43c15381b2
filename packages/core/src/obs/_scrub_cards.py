"""Card numbers in text: found per run of digits, confirmed by issuer prefix and Luhn check."""

from __future__ import annotations

import re

from obs._scrub_patterns import CARD_PREFIXES

# A card number is a run of 13+ characters of digits, spaces and dashes: with each of those
# read as "0", one substring search finds whether text has such a run (C speed, no regex).
CARDISH = bytes(48 if chr(i) in "0123456789 -" else i for i in range(256))
CARD_RUN = b"0" * 13
# 2*d with its two digits summed, per digit d: 0->0, 5->1 (10), 9->9 (18)...
_LUHN_DOUBLED = str.maketrans("0123456789", "0246813579")
_CARD_RUNS = re.compile(r"\d(?:[ \-]?\d)*")
_DIGIT_GROUP = re.compile(r"\d+")


def card_hits(text: str) -> list[tuple[int, int]]:
    """Where card numbers are in ``text``: (start, end) of each, in order.

    Each maximal run of digits with single spaces or dashes between is read once, and every
    group boundary in it is tried as a start (a card may follow another number in the same
    run: "qty 12 4111 1111 1111 1111"). Windows are 13-19 digits of groups of 3+ digits, so
    the work per group is bounded.
    """
    hits: list[tuple[int, int]] = []
    for run in _CARD_RUNS.finditer(text):
        start, end = run.span()
        if end - start < 13:
            continue
        if start >= 2 and text[start - 1] in ".," and text[start - 2].isdigit():
            continue  # the decimals of a number
        if end + 1 < len(text) and text[end] in ".," and text[end + 1].isdigit():
            continue
        groups = [g.span() for g in _DIGIT_GROUP.finditer(text, start, end)]
        i = 0
        while i < len(groups):
            found_end = -1
            digits = ""
            j = i
            while j < len(groups) and groups[j][1] - groups[j][0] >= 3 and len(digits) < 19:
                digits += text[groups[j][0] : groups[j][1]]
                j += 1
                if 13 <= len(digits) <= 19 and is_card_number(digits):
                    found_end = groups[j - 1][1]
                    break
            if found_end >= 0:
                hits.append((groups[i][0], found_end))
                i = j
            else:
                i += 1
    return hits


def luhn_ok(digits: str) -> bool:
    """The Luhn check: every second digit from the right doubled (its digits summed)."""
    kept = digits[-1::-2]
    doubled = digits[-2::-2].translate(_LUHN_DOUBLED)
    return (sum(map(int, kept)) + sum(map(int, doubled))) % 10 == 0


def is_card_number(digits: str) -> bool:
    """13-19 digits of a card network's prefix and length that pass the Luhn check."""
    n = len(digits)
    if not 13 <= n <= 19:
        return False
    for prefix, lengths in CARD_PREFIXES:
        if digits.startswith(prefix) and n in lengths:
            return luhn_ok(digits)
    return False
