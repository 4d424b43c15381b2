"""Finding secrets inside one string, in time linear in its length.

How (and why it cannot be made slow by its input):

1. The clean verdict: the text is lower-cased once and searched for each gate literal
   (``str.__contains__``, a C loop); card-number-like runs are found by mapping digits, spaces
   and dashes to "0" (``str.translate``) and searching for 13 of them. Neither: clean,
   nothing else runs.
2. Candidates: every occurrence of each trigger present (``str.find`` loops) plus, on text
   with such a run, the card-number regex's matches; sorted by position.
3. Each candidate is tried once, in order, by the handler of its trigger: an anchored match of
   a bounded regex inside a bounded window (``Pattern.match(text, pos, endpos)``). A match
   replaces its region and the scan resumes after it, so no region is scanned for the same
   kind of secret twice; a failed ``name=value`` attempt skips the whole word it looked at.

The cost is then O(n) for the passes in 1 and 2, plus O(window) per candidate with candidates
at least one trigger apart and windows that stop at the first character outside their class.
``benchmarks/bench_scrubbing.py`` measures it on adversarial input.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from heapq import heapify, heappop, heapreplace

from obs._scrub_cards import CARD_RUN, CARDISH, card_hits
from obs._scrub_gates import Gates
from obs._scrub_keys import KeyNames
from obs._scrub_patterns import (
    EMAIL_DOMAIN,
    EMAIL_LOCAL_CHARS,
    GATES,
    KEY_RULES,
    KEY_TRIGGERS,
    OTHER_LABELS,
    PHONE_PATTERN,
    PII_KINDS,
    REPLACEMENT,
    SHAPES,
    Shape,
)

#: ``decide(path, secret, label)``: the text to put in place of ``secret`` (the callback may
#: keep the secret itself, which the scanner then leaves untouched).
Decide = Callable[[str, str, str], str]

_DIGITS = str.maketrans("", "", "0123456789")
_ASCII_LOWER = {c: c + 32 for c in range(65, 91)}
_PHONE = re.compile(PHONE_PATTERN)
_EMAIL_DOMAIN = re.compile(EMAIL_DOMAIN)
_MARKER_START = "[scrubbed: "
# OpenTelemetry's own placeholder for redacted query values ("sig=REDACTED"): already safe.
_REDACTED = "REDACTED"
_REDACTED_USERINFO = frozenset({"REDACTED", "REDACTED:REDACTED"})

# name=value inside text: the name is the run of these characters around a key trigger.
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-[]$")
_NAME_TAIL = re.compile(r"[\w.\-\[\]$]*")
_NAME_BACK_LIMIT = 64
_NAME_LIMIT = 128
# The separator: "password=", "password: ", '"password": ', "user[password]=", "token := ".
# Also inside escaped JSON in a log line ('{\\"password\\": \\"x\\"}') and URL-encoded
# ("password%3Dx", and URL-encoded JSON in a query string: "%22password%22%3A%20%22x%22");
# a backslash before the value's quote is consumed (see ``_ESCAPED_VALUE``).
_SEPARATOR = re.compile(
    r"(?:[\\\"'\]]|%2[27]|%5[dD]){0,3}(?:[ \t]|%20){0,4}(?:=>|:=|[:=]|%3[dDaA])[ \t]{0,4}"
    r"(?P<escaped>\\(?=[\"']))?"
)
_SEPARATOR_WINDOW = 32
# A value up to its delimiter. Words after the first are part of it ("password=correct horse
# battery") unless one looks like the next assignment ("... user=bob"). Bounded: 1024
# characters for the first word, 16 more words of at most 256.
_BARE_VALUE = re.compile(
    r"[^\s&;,\"'<>{}()\[\]]{1,1024}"
    r"(?:[ \t]{1,8}[^\s&;,\"'<>{}()\[\]=:]{1,256}(?=[\s&;,\"'<>{}()\[\]]|\Z)){0,16}"
)
# A value quoted with escaped quotes ends at the next escaped quote.
_ESCAPED_VALUE = {
    '"': re.compile(r'"((?:[^"\\\n]|\\[^"\n]){0,4096})(?:\\")?'),
    "'": re.compile(r"'((?:[^'\\\n]|\\[^'\n]){0,4096})(?:\\')?"),
}
_QUOTED_VALUE = {
    '"': re.compile(r'"((?:[^"\\\n]|\\.){0,4096})"?'),
    "'": re.compile(r"'((?:[^'\\\n]|\\.){0,4096})'?"),
}
_VALUE_WINDOW = 8192
_TOKEN_RUN = re.compile(r"[A-Za-z0-9_\-+/=~]*")
# The end of a PEM block, searched once per text from where the last search left off.
_PEM_END = re.compile(r"-----end[ a-z0-9]{0,40}private key(?: block)?-----")
_PEM_BODY = re.compile(r"[A-Za-z0-9+/=\s\\:,\-]{0,32768}")


#: A handler tries one candidate: (start, end, label) of a secret, or None.
Found = tuple[int, int, str]


def _credential_like(secret: str) -> bool:
    """After ``Basic``: base64 credentials, not an English word ("basic understanding")."""
    return (
        any(c.isdigit() or c in "+/=" for c in secret)
        or (any(c.isupper() for c in secret) and any(c.islower() for c in secret))
        or len(secret) >= 24
    )


@dataclass
class _Compiled:
    shape: Shape
    regex: re.Pattern[str]


class _Scan:
    """The state of one scan: where each kind of candidate may next start."""

    __slots__ = ("assign_from", "pem_end", "shape_from")

    def __init__(self) -> None:
        self.assign_from = 0
        self.pem_end = -2  # -2: not searched yet; -1: none after the last search
        self.shape_from: dict[int, int] = {}

    def floor(self, handler: int) -> int:
        """The first position ``handler`` would look at again."""
        if handler >= 0:
            return self.shape_from.get(handler, 0)
        if handler in (-1, -2):
            return self.assign_from
        return 0


def _find(lowered: str, trigger: str, start: int) -> int:
    return lowered.find(trigger, start)


def _next_start(starts: list[int], start: int) -> int:
    i = bisect_left(starts, start)
    return starts[i] if i < len(starts) else -1


def _search(regex: re.Pattern[str], text: str, start: int) -> int:
    m = regex.search(text, start)
    return m.start() if m is not None else -1


class TextScanner:
    """Finds and replaces secrets in one string (see the module docstring for how)."""

    def __init__(
        self,
        keys: KeyNames,
        pii: Sequence[str] = (),
        value_patterns: Sequence[tuple[str, re.Pattern[str]]] = (),
        accelerate: bool = True,
    ) -> None:
        self._keys = keys
        labels = {label for label, _ in KEY_RULES} | {s.label for s in SHAPES}
        labels |= {*PII_KINDS, *OTHER_LABELS, *(label for label, _ in value_patterns)}
        # Only obs's own markers are skipped: "[scrubbed: sk-proj-...]" typed by a client is
        # read like any other text.
        self.marker = re.compile(
            "|".join(re.escape(REPLACEMENT.format(label)) for label in sorted(labels))
        )
        self._shapes = [
            _Compiled(s, re.compile(s.pattern, 0 if s.case_sensitive else re.IGNORECASE))
            for s in SHAPES
        ]
        # trigger -> the handlers it starts: a shape index, or -1 for name=value.
        table: dict[str, list[int]] = {}
        for index, compiled in enumerate(self._shapes):
            for trigger in compiled.shape.triggers:
                table.setdefault(trigger, []).append(index)
        for trigger in KEY_TRIGGERS:
            table.setdefault(trigger, []).append(-1)
        if keys.has_extra:
            # User key patterns are arbitrary regexes: every separator may end such a name.
            for trigger in ("=", ":"):
                table.setdefault(trigger, []).append(-2)
        # A marker already in the text ("[scrubbed: bearer credentials]") is not read again.
        table.setdefault(_MARKER_START, []).append(-6)
        self._email = "email" in pii
        if self._email:
            table.setdefault("@", []).append(-3)
        self._phone = "phone" in pii
        self._table = table
        self._triggers = tuple(table)
        # The clean verdict checks the gates; what they do not cover (user key patterns'
        # separators, "@" for emails) is checked as a trigger of its own.
        extra = [t for t in table if t != _MARKER_START and not any(g in t for g in GATES)]
        self._gates = Gates((*GATES, *extra), accelerate)
        # gate -> the triggers it stands for; triggers no gate is inside of (a PEM header,
        # whose match always holds "key") are looked for whenever the text is scanned.
        self._by_gate = {g: tuple(t for t in table if g in t) for g in self._gates.gates}
        self._ungated = tuple(t for t in table if not any(g in t for g in self._gates.gates))
        self._value_patterns = tuple(value_patterns)

    # -- the clean verdict ---------------------------------------------------------------
    @staticmethod
    def lowered(text: str) -> str:
        lowered = text.lower()
        if len(lowered) != len(text):  # "İ".lower() is two characters: keep positions
            lowered = text.translate(_ASCII_LOWER)
        return lowered

    def present(self, lowered: str) -> list[str]:
        """The triggers in ``lowered``: those of the gates present, plus the ungated ones."""
        gates = self._gates.present(lowered.encode("utf-8", "ignore"))
        candidates = {t for g in gates for t in self._by_gate[g]}
        candidates.update(self._ungated)
        return [t for t in self._triggers if t in candidates and t in lowered]

    @staticmethod
    def card_run(text: str) -> bool:
        return CARD_RUN in text.encode("utf-8", "ignore").translate(CARDISH)

    @staticmethod
    def digit_count(text: str) -> int:
        return len(text) - len(text.translate(_DIGITS))

    def suspect(self, text: str) -> bool:
        """Could ``text`` hold a secret? False is final; True means scan it."""
        data = text.encode("utf-8", "ignore")
        # Unicode lower-casing, as the scan and the key rules use ("K", the Kelvin sign, is "k")
        lowered = text.lower().encode("utf-8", "ignore")
        if self._gates.any(lowered) or CARD_RUN in data.translate(CARDISH):
            return True
        if self._phone and self.digit_count(text) >= 8:
            return True
        return any(regex.search(text) for _, regex in self._value_patterns)

    # -- the scan ------------------------------------------------------------------------
    def scrub(self, path: str, text: str, found: list[str], decide: Decide) -> str:
        """``text`` with every secret replaced; ``path`` is appended to ``found`` per secret."""
        lowered = self.lowered(text)
        # One source of candidates per trigger present (plus card and phone numbers), merged
        # by position. Each source's next search starts where its handlers would next accept
        # a candidate, so a run they skipped ("tokentoken...") is not even enumerated.
        sources: list[tuple[Callable[[int], int], list[int], int]] = []
        for trigger in self.present(lowered):
            sources.append((partial(_find, lowered, trigger), self._table[trigger], len(trigger)))
        cards: dict[int, int] = {}
        if self.card_run(text):
            cards = dict(card_hits(text))
            starts = sorted(cards)
            sources.append((partial(_next_start, starts), [-4], 1))
        if self._phone and self.digit_count(text) >= 8:
            sources.append((partial(_search, _PHONE, text), [-5], 1))
        heap = [(pos, i) for i, (find, _, _) in enumerate(sources) if (pos := find(0)) >= 0]
        heapify(heap)
        pieces: list[str] = []
        done = 0  # text[:done] is decided
        skip = 0  # text[:skip] needs no more looking at (a marker)
        state = _Scan()
        while heap:
            pos, index = heap[0]
            find, handlers, step = sources[index]
            for handler in handlers:
                if pos < done or pos < skip:
                    break
                if handler == -6:
                    marker = self.marker.match(text, pos)
                    if marker is not None:
                        skip = marker.end()
                        found.append(path)  # replaced where it entered obs: still listed
                    continue
                if handler == -4:
                    hit: Found | None = (pos, cards[pos], "card number")
                else:
                    hit = self._try(handler, text, lowered, pos, done, state)
                if hit is None:
                    continue
                start, end, label = hit
                if self.marker.match(text, start):
                    continue
                secret = text[start:end]
                replacement = decide(path, secret, label)
                if replacement == secret:
                    continue
                found.append(path)
                pieces.append(text[done:start])
                pieces.append(replacement)
                done = end
            following = max(pos + step, done, skip, min(state.floor(h) for h in handlers))
            nxt = find(following)
            if nxt >= 0:
                heapreplace(heap, (nxt, index))
            else:
                heappop(heap)
        if pieces:
            pieces.append(text[done:])
            text = "".join(pieces)
        for label, regex in self._value_patterns:
            text = self._user_pattern(path, text, label, regex, found, decide)
        return text

    @staticmethod
    def _user_pattern(
        path: str, text: str, label: str, regex: re.Pattern[str], found: list[str], decide: Decide
    ) -> str:
        def replace(m: re.Match[str]) -> str:
            secret = m.group(0)
            if not secret:
                return secret
            replacement = decide(path, secret, label)
            if replacement != secret:
                found.append(path)
            return replacement

        return regex.sub(replace, text)

    def _try(
        self, handler: int, text: str, lowered: str, pos: int, done: int, state: _Scan
    ) -> Found | None:
        if handler >= 0:
            return self._shape(handler, text, lowered, pos, state)
        if handler == -1:
            return self._assignment(text, pos, state)
        if handler == -2:
            return self._after_separator(text, pos, done, state)
        if handler == -3:
            return self._email_at(text, pos, done)
        return self._phone_at(text, pos)

    def _shape(self, index: int, text: str, lowered: str, pos: int, state: _Scan) -> Found | None:
        if pos < state.shape_from.get(index, 0):
            return None
        compiled = self._shapes[index]
        shape = compiled.shape
        if shape.word_start and pos > 0:
            before = text[pos - 1]
            if before.isalnum() or before == "_":
                return None
        m = compiled.regex.match(text, pos, min(len(text), pos + shape.window))
        if m is None:
            return None
        if shape.check == "pem":
            return self._pem(text, lowered, m.end(), pos, shape.label, state)
        start, end = m.span("secret") if "secret" in compiled.regex.groupindex else m.span()
        basic = shape.check == "credential" and lowered.startswith("basic", pos)
        if basic and not _credential_like(text[start:end]):
            return None
        if shape.check == "userinfo" and text[start:end] in _REDACTED_USERINFO:
            return None  # the HTTP conventions' own placeholder
        if end == m.end() and shape.label != "url credentials":
            # A token longer than the shape's bound goes whole: no tail is left behind.
            run = _TOKEN_RUN.match(text, end)
            end = run.end() if run is not None else end
        state.shape_from[index] = end
        return start, end, shape.label

    @staticmethod
    def _pem(text: str, lowered: str, body: int, pos: int, label: str, state: _Scan) -> Found:
        # One search for the END line serves every BEGIN before it (amortised linear).
        if state.pem_end == -2 or (0 <= state.pem_end < body):
            m = _PEM_END.search(lowered, body)
            state.pem_end = m.end() if m is not None else -1
        if state.pem_end >= body:
            return pos, state.pem_end, label
        # No END (a cut-off block): everything that reads as a key body goes.
        m_body = _PEM_BODY.match(text, body)
        return pos, m_body.end() if m_body is not None else body, label

    def _assignment(self, text: str, pos: int, state: _Scan) -> Found | None:
        """``name<sep>value`` around a key trigger at ``pos``; the name decides."""
        if pos < state.assign_from:
            return None
        start = pos
        lower_bound = max(0, pos - _NAME_BACK_LIMIT)
        while start > lower_bound and text[start - 1] in _NAME_CHARS:
            start -= 1
        return self._name_value(text, start, pos, state)

    def _after_separator(self, text: str, pos: int, done: int, state: _Scan) -> Found | None:
        """A separator for user key patterns: read the name that ends before it."""
        end = pos
        while end > max(done, pos - 6) and text[end - 1] in "\"' \t]":
            end -= 1
        start = end
        lower_bound = max(done, end - _NAME_BACK_LIMIT)
        while start > lower_bound and text[start - 1] in _NAME_CHARS:
            start -= 1
        if start == end or start < state.assign_from:
            return None
        return self._name_value(text, start, start, state)

    def _name_value(self, text: str, start: int, pos: int, state: _Scan) -> Found | None:
        tail = _NAME_TAIL.match(text, pos, pos + _NAME_LIMIT + 1)
        end = tail.end() if tail is not None else pos
        if end - start > _NAME_LIMIT or (start > 0 and text[start - 1] in _NAME_CHARS):
            # Not a name but a long run ("tokentokentoken..."): skip all of it at once.
            run = _NAME_TAIL.match(text, end)
            state.assign_from = run.end() if run is not None else end
            return None
        state.assign_from = end
        separator = _SEPARATOR.match(text, end, end + _SEPARATOR_WINDOW)
        if separator is None:
            return None
        label = self._keys.label(text[start:end])
        if label is None:
            return None
        value = separator.end()
        if value >= len(text) or self.marker.match(text, value):
            return None
        quote = text[value]
        if quote in _QUOTED_VALUE:
            table = _ESCAPED_VALUE if separator.group("escaped") else _QUOTED_VALUE
            quoted = table[quote].match(text, value, value + _VALUE_WINDOW)
            if quoted is None or quoted.end(1) == quoted.start(1):
                return None
            state.assign_from = quoted.end()
            return quoted.start(1), quoted.end(1), label
        bare = _BARE_VALUE.match(text, value, value + _VALUE_WINDOW)
        if bare is None or bare.group(0) == _REDACTED:
            return None
        state.assign_from = bare.end()
        return value, bare.end(), label

    @staticmethod
    def _phone_at(text: str, pos: int) -> Found | None:
        m = _PHONE.match(text, pos)
        if m is None:
            return None
        number = m.group(0)
        if number.startswith("+") and not 8 <= sum(c.isdigit() for c in number) <= 15:
            return None
        return m.start(), m.end(), "phone"

    @staticmethod
    def _email_at(text: str, pos: int, done: int) -> Found | None:
        start = pos
        lower_bound = max(done, pos - 64)
        while start > lower_bound and text[start - 1] in EMAIL_LOCAL_CHARS:
            start -= 1
        if start == pos:
            return None
        m = _EMAIL_DOMAIN.match(text, pos, pos + 300)
        if m is None:
            return None
        return start, m.end(), "email"
