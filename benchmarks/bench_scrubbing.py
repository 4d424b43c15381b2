"""Scrubbing: the clean hot path, and cost growth on adversarial input (4 KB vs 64 KB).

    uv run python -m benchmarks.run scrubbing --rounds 7
    uv run python -m benchmarks.bench_scrubbing          # this group alone, with the ratios

Times are CPU time of the measuring thread (``time.thread_time``), best of ``rounds``: on a
shared machine wall time also counts the waits for a core, which hit long runs more than
short ones and would inflate exactly the ratio this measures. Each input is a fresh string
longer than the clean-verdict cache's limit, so nothing is served from a cache.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider

from benchmarks._harness import Group, Result
from obs._scrub_keys import KeyNames
from obs._scrub_text import TextScanner
from obs._scrubbing import Scrubber

#: Adversarial units, each repeated to the size measured: every pattern word, nested
#: brackets, the repeats from the issue, digit runs.
ADVERSARIAL: dict[str, str] = {
    "token x n": "token",
    "auth. x n": "auth.",
    "password= x n": "password=",
    "every trigger": (
        "password secret token auth session cookie sk- sk_live_ eyJ AKIA :// bearer basic "
        "-----BEGIN xoxb- ghp_ github_pat_ AIza whsec_ accountkey= hooks.slack.com/ ssn card "
    ),
    "[ x n": "[",
    '{"a": x n': '{"a":',
    "digits '4111 ' x n": "4111 ",
    "digit run": "4",
    "eyJ-ish": "eyJabcd.",
    "://a:b x n": "://a:b",
    "PEM headers": "-----BEGIN RSA PRIVATE KEY-----",
}

# A realistic clean text: a log body with no trigger words (routes, numbers below card length).
_WORDS = (
    "the request for order 1234 was handled by worker 7 in 12 ms and queued for shipping "
    "to the warehouse at /api/v1/orders/1234/items with status ok and 3 retries left "
)
CLEAN_8K = (_WORDS * (8192 // len(_WORDS) + 1))[:8192]
# Clean, but holding trigger look-alikes, so it takes the full scan.
LOOKALIKE_8K = (("monkey keyboard tokens max_tokens author " + _WORDS) * 60)[:8192]
SECRETS_8K = (
    ("user=bob password=hunter2 token=abc123 Authorization: Bearer abcdefgh12345678 " + _WORDS) * 40
)[:8192]


def _clean_server_span() -> ReadableSpan:
    """A finished SDK span shaped like an HTTP server span, ended on a plain provider."""
    provider = TracerProvider(shutdown_on_exit=False)
    span = provider.get_tracer("bench").start_span(
        "GET /items/{item_id}",
        attributes={
            "http.request.method": "GET",
            "http.route": "/items/{item_id}",
            "url.path": "/items/42",
            "url.scheme": "http",
            "server.address": "api.example.com",
            "server.port": 443,
            "client.address": "10.0.0.7",
            "user_agent.original": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
            "network.protocol.version": "1.1",
            "http.response.status_code": 200,
        },
    )
    span.end()
    assert isinstance(span, ReadableSpan)
    return span


def sized(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def cpu_best(fn: Callable[[], object], rounds: int, inner: int = 1) -> float:
    """Best CPU µs per call of ``fn`` over ``rounds`` rounds of ``inner`` calls."""
    fn()
    best = float("inf")
    for _ in range(rounds):
        start = time.thread_time()
        for _ in range(inner):
            fn()
        best = min(best, (time.thread_time() - start) / inner)
    return best * 1e6


def bench(rounds: int, sdk_span: Result) -> list[Group]:
    scrubber = Scrubber()

    def scrub(text: str) -> Callable[[], object]:
        return lambda: scrubber.scrub_text("v", text, [])

    group = Group("scrubbing", "value")
    plain = TextScanner(KeyNames((), ()), accelerate=False)
    group.results.append(
        Result(
            "scrubbing",
            "clean 8 KB text, without obs-core[speedups]",
            [cpu_best(lambda: plain.suspect(CLEAN_8K), rounds, 200)],
            "-",
        )
    )
    span = _clean_server_span()
    group.results.append(
        Result(
            "scrubbing",
            "clean server span (10 attributes), scrub_span",
            [cpu_best(lambda: scrubber.scrub_span(span), rounds, 20_000)],
            "1",
        )
    )
    for name, text, inner in (
        ("clean 8 KB text", CLEAN_8K, 200),
        ("clean 8 KB with look-alikes (full scan)", LOOKALIKE_8K, 20),
        ("8 KB with 160 secrets", SECRETS_8K, 20),
    ):
        us = cpu_best(scrub(text), rounds, inner)
        group.results.append(Result("scrubbing", name, [us], "-"))
    worst = 0.0
    for name, unit in ADVERSARIAL.items():
        small = cpu_best(scrub(sized(unit, 4096)), rounds, 5)
        large = cpu_best(scrub(sized(unit, 65536)), rounds)
        ratio = large / small
        worst = max(worst, ratio)
        group.results.append(
            Result(
                "scrubbing",
                f"{name}: 64 KB",
                [large],
                "-",
                note=f"4 KB {small:.0f} µs; 64 KB / 4 KB = {ratio:.1f}x (linear: 16x)",
            )
        )
    group.results.append(
        Result("scrubbing", "worst 64 KB / 4 KB ratio (target <= 20x)", [worst], "-")
    )
    return [group]


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    print(f"python {sys.version.split()[0]}, CPU time, best of {rounds} rounds")
    for group in bench(rounds, Result("core", "unused", [1.0])):
        for r in group.results:
            print(
                f"{r.name:<52} {r.median:12.1f} µs"
                if "ratio" not in r.name
                else f"{r.name:<52} {r.median:12.1f}x"
            )
            if r.note:
                print(f"    {r.note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
