"""Fire once, repeat at the interval, resolve once; flapping damped."""

from __future__ import annotations

from obs._alerts.state import GroupState, Transition, step

S = 1_000_000_000


def run(
    sequence: list[bool],
    *,
    for_s: float = 0.0,
    consecutive: int = 1,
    resolve_after_s: float = 0.0,
    repeat_interval_s: float | None = None,
    every_s: float = 1.0,
) -> list[str | None]:
    """Feed breaching/ok evaluations ``every_s`` apart; the transitions, as an incident would."""
    state = GroupState("", {})
    out: list[str | None] = []
    for i, breaching in enumerate(sequence):
        now = int(i * every_s * S)
        t: Transition | None = step(
            state,
            breaching,
            now,
            for_s=for_s,
            consecutive=consecutive,
            resolve_after_s=resolve_after_s,
            repeat_interval_s=repeat_interval_s,
        )
        if t is not None and t.kind == "fire":
            state.incident_id, state.started_ns, state.last_notified_ns = 1, now, now
        elif t is not None and t.kind == "repeat":
            state.last_notified_ns = now
        elif t is not None and t.kind == "resolve":
            state.incident_id = None
        out.append(t.kind if t else None)
    return out


def test_fires_once_and_resolves_once() -> None:
    assert run([False, True, True, True, False, False]) == [
        None,
        "fire",
        None,
        None,
        "resolve",
        None,
    ]


def test_repeats_at_the_interval_while_it_lasts() -> None:
    got = run([True] * 7, repeat_interval_s=2.0)
    assert got == ["fire", None, "repeat", None, "repeat", None, "repeat"]


def test_no_repeat_without_an_interval() -> None:
    assert run([True] * 5) == ["fire", None, None, None, None]


def test_consecutive_evaluations_damp_a_flap() -> None:
    flapping = [True, True, False, True, True, False, True, True, True]
    assert run(flapping, consecutive=3) == [None] * 8 + ["fire"]


def test_for_duration_damps_a_flap() -> None:
    # Breaching must hold for 3 s (evaluations 1 s apart): the 4th breach in a row fires.
    assert run([True, True, False, True, True, True, True], for_s=3.0) == [
        None,
        None,
        None,
        None,
        None,
        None,
        "fire",
    ]


def test_cool_down_before_resolving() -> None:
    # Recovered for 2 s before it resolves; a relapse inside the cool-down keeps it open.
    got = run([True, False, True, False, False, False, False], resolve_after_s=2.0)
    assert got == ["fire", None, None, None, None, "resolve", None]


def test_breach_after_resolution_is_a_new_incident() -> None:
    assert run([True, False, True]) == ["fire", "resolve", "fire"]
