"""Loaded at interpreter start-up by ``obs run`` (its folder is put first on PYTHONPATH).

It configures obs from the environment and switches on the installed integrations before the
program imports anything, then hands over to any ``sitecustomize`` the program had.
"""

import os
import sys


def _start() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    # Let a sitecustomize further down the path run too, as it would without obs.
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    mine = sys.modules.pop("sitecustomize", None)
    try:
        import sitecustomize  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        pass
    finally:
        if "sitecustomize" not in sys.modules and mine is not None:
            sys.modules["sitecustomize"] = mine
    try:
        import obs

        only = os.environ.get("OBS_RUN_INSTRUMENT", "").strip()
        instrument = [n.strip() for n in only.split(",") if n.strip()] if only else True
        obs.configure(instrument=instrument)
    except Exception as exc:  # never stop the program from starting
        print(f"obs run: could not configure obs: {exc!r}", file=sys.stderr)


if os.environ.get("OBS_RUN") == "1":
    _start()
