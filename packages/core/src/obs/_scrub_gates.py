"""The clean verdict's first question: does a text contain any gate literal at all?

Most values hold none, so this is the scrubber's hot path for values not seen before. With
``obs-core[speedups]`` it is one Aho-Corasick pass (``ahocorasick-rs``); without, one substring
search per literal. Both give the same verdict (tested).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: Bytes per Aho-Corasick call: text dense with gates stops at its first chunk.
_GATE_CHUNK = 4096


class Gates:
    """Which gate literals a lower-cased UTF-8 text contains.

    With ``obs-core[speedups]`` installed it is one Aho-Corasick pass over the text; without,
    one substring search per gate (same verdict, ~5x the time on long clean text). Bytes,
    because both searches run faster on them than on ``str``.
    """

    def __init__(self, gates: Sequence[str], accelerate: bool = True) -> None:
        self.gates = tuple(gates)
        self._needles = [gate.encode() for gate in gates]
        self._longest = max((len(n) for n in self._needles), default=1)
        self._automaton: Any = None
        if accelerate:
            try:
                from ahocorasick_rs import BytesAhoCorasick
            except ImportError:
                pass
            else:
                self._automaton = BytesAhoCorasick(self._needles)

    def any(self, lowered: bytes) -> bool:
        if self._automaton is None:
            return any(needle in lowered for needle in self._needles)
        # In chunks, so text dense with gates stops at its first chunk instead of building a
        # list of every match (chunks overlap by a gate's length, so none is cut in two).
        find = self._automaton.find_matches_as_indexes
        view = memoryview(lowered)
        step, overlap = _GATE_CHUNK, self._longest - 1
        for start in range(0, max(1, len(lowered) - overlap), step):
            if find(view[start : start + step + overlap]):
                return True
        return False

    def present(self, lowered: bytes) -> list[str]:
        """The gates in ``lowered`` (plain substring searches: no list of every match)."""
        return [
            gate
            for gate, needle in zip(self.gates, self._needles, strict=True)
            if needle in lowered
        ]
