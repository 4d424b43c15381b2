"""Run every benchmark case in one process and print one table.

    uv run python -m benchmarks.run            # all groups
    uv run python -m benchmarks.run core fastapi --rounds 9

Each ``benchmarks/bench_<group>.py`` module has ``bench(rounds, sdk_span) -> list[Group]``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import platform
import sys
from pathlib import Path

from benchmarks._harness import Group, Result, bare_span_cost


def _modules(only: list[str]) -> list[str]:
    here = Path(__file__).parent
    names = sorted(
        m.name[len("bench_") :]
        for m in pkgutil.iter_modules([str(here)])
        if m.name.startswith("bench_")
    )
    if "core" in names:  # the core figures come first
        names.remove("core")
        names.insert(0, "core")
    return [n for n in names if not only or n in only]


def format_table(groups: list[Group], sdk_span: Result) -> str:
    span_us = sdk_span.median
    lines = [
        f"one bare SDK span (plain pipeline): {span_us:.2f} µs (median of {len(sdk_span.samples_us)} rounds)",
        "",
        f"{'group':<11} {'case':<46} {'spans':>5} {'µs/op':>9} {'overhead µs':>12} {'÷ SDK span':>10} {'vs obs':>7}",
        "-" * 106,
    ]
    for group in groups:
        base = next((r for r in group.results if r.baseline), None)
        obs_row = next((r for r in group.results if r.name.startswith("obs")), None)
        obs_over = (obs_row.median - base.median) if (obs_row and base) else None
        for r in group.results:
            if base is not None and r is not base:
                over = r.median - base.median
                over_s = f"{over:12.2f}"
                ratio_s = f"{over / span_us:9.2f}×"
                vs = (
                    f"{over / obs_over:6.2f}×"
                    if obs_over and obs_over > 0 and r is not obs_row
                    else ""
                )
            elif base is None and group.name in ("core", "scrubbing"):  # no host baseline
                over_s, ratio_s, vs = "", f"{r.median / span_us:9.2f}×", ""
            else:
                over_s, ratio_s, vs = "(baseline)", "", ""
            lines.append(
                f"{group.name:<11} {r.name:<46} {r.spans:>5} {r.median:9.2f} {over_s:>12} {ratio_s:>10} {vs:>7}"
            )
            if r.note:
                lines.append(f"{'':<11}   {r.note}")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("groups", nargs="*", help="groups to run (default: all)")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    print(
        f"python {platform.python_version()} on {platform.machine()}, {args.rounds} rounds per case",
        flush=True,
    )
    sdk_span = Result("core", "sdk span (plain)", bare_span_cost(args.rounds), "1")
    groups: list[Group] = []
    for name in _modules(args.groups):
        module = importlib.import_module(f"benchmarks.bench_{name}")
        print(f"running {name} ...", file=sys.stderr, flush=True)
        groups.extend(module.bench(args.rounds, sdk_span))
    print()
    print(format_table(groups, sdk_span))
    return 0


if __name__ == "__main__":
    sys.exit(main())
