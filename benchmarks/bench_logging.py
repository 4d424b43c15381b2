"""Logging: cost per record, obs's handler vs a plain ``logging`` handler, one run.

Every case calls ``logger.info("order %s paid", n)`` on its own logger (``propagate=False``)
with one handler: a ``NullHandler`` (the baseline: what making and dispatching a record
costs), a ``StreamHandler`` writing the formatted line to ``/dev/null`` (what a plain logging
set-up pays per record), and ``obs.LogHandler`` (a log span on obs's pipeline, scrubbing
included), without and with two ``extra`` fields, and inside a span (parented, as in a
request). ``obs.info`` is there for comparison: the same log written with obs's own API.

    uv run python -m benchmarks.run logging --rounds 7
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

import obs
from benchmarks._harness import Group, Result, interleaved, use_obs

OPS = 5_000


def _logger(name: str, handler: logging.Handler) -> logging.Logger:
    logger = logging.getLogger(f"bench.logging.{name}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


def bench(rounds: int, sdk_span: Result) -> list[Group]:
    use_obs()
    devnull = open(os.devnull, "w")  # noqa: SIM115 - held for the whole group
    stream = logging.StreamHandler(devnull)
    stream.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    null_logger = _logger("null", logging.NullHandler())
    stream_logger = _logger("stream", stream)
    obs_logger = _logger("obs", obs.LogHandler())

    def records(logger: logging.Logger, **extra: object) -> Callable[[], None]:
        kwargs = {"extra": extra} if extra else {}

        def run() -> None:
            for n in range(OPS):
                logger.info("order %s paid", n, **kwargs)  # type: ignore[arg-type]

        return run

    def in_span() -> None:
        with obs.span("request"):
            for n in range(OPS):
                obs_logger.info("order %s paid", n)

    def obs_info() -> None:
        for n in range(OPS):
            obs.info("order {n} paid", n=n)

    cases = {
        "logging NullHandler (bare)": records(null_logger),
        "obs.LogHandler": records(obs_logger),
        "logging StreamHandler to /dev/null": records(stream_logger),
        "obs.LogHandler, 2 extra fields": records(obs_logger, amount=42, currency="EUR"),
        "obs.LogHandler, inside a span": in_span,
        "obs.info (obs's own API)": obs_info,
    }
    try:
        samples = interleaved(cases, OPS, rounds)
    finally:
        devnull.close()
    group = Group("logging", "record")
    for name, values in samples.items():
        bare = name.endswith("(bare)")
        group.results.append(
            Result("logging", name, values, "0" if bare or "Stream" in name else "1", baseline=bare)
        )
    return [group]
