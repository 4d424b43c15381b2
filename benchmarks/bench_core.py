"""Core: one bare SDK span vs obs.span vs obs.info, and the scrubbing cost."""

from __future__ import annotations

from opentelemetry import context as context_api
from opentelemetry import trace as trace_api

import obs
from benchmarks._harness import Group, Result, interleaved, plain_provider, use_obs

OPS = 10_000


def bench(rounds: int, sdk_span: Result) -> list[Group]:
    plain = plain_provider().get_tracer("bench")
    use_obs()
    obs_sdk = trace_api.get_tracer("bench")

    def bare_current() -> None:
        for _ in range(OPS):
            with plain.start_as_current_span("op", attributes={"a": 1, "b": "x"}):
                pass

    def obs_span() -> None:
        for _ in range(OPS):
            with obs.span("op", a=1, b="x"):
                pass

    def sdk_on_obs_pipeline() -> None:
        for _ in range(OPS):
            obs_sdk.start_span("op", attributes={"a": 1, "b": "x"}).end()

    def obs_info() -> None:
        for _ in range(OPS):
            obs.info("user {name} created", name="alice", user_id=42)

    def obs_info_secret() -> None:
        for _ in range(OPS):
            obs.info(
                "login {user}", user="alice", password="hunter2", header="Bearer abcdefgh12345678"
            )

    def obs_span_unscrubbed() -> None:
        for _ in range(OPS):
            with obs.span("op", a=1, b="x"):
                pass

    cases = {
        "sdk start_as_current_span (plain)": bare_current,
        "sdk span on obs pipeline": sdk_on_obs_pipeline,
        "obs.span": obs_span,
        "obs.info": obs_info,
        "obs.info with 2 secrets scrubbed": obs_info_secret,
    }
    samples = interleaved(cases, OPS, rounds)
    use_obs(scrubbing=False)
    no_scrub = interleaved({"obs.span, scrubbing off": obs_span_unscrubbed}, OPS, rounds)
    use_obs()
    group = Group("core", "span")
    group.results.append(
        Result("core", "sdk span (plain)", sdk_span.samples_us, "1", baseline=False)
    )
    for name, values in {**samples, **no_scrub}.items():
        group.results.append(Result("core", name, values, "1"))
    assert context_api.get_current() is not None
    return [group]
