"""The pre-fork (gunicorn ``--preload``) process model, run as a script by test_process_model.

    python -m tests.reliability._forking OTLP_ENDPOINT STORE_PATH

The parent configures obs and exports once (so its HTTP keep-alive connection and its SQLite
connection exist before the fork), then forks three workers: one exits normally, one crashes
with ``os._exit`` after a flush, one is killed by a signal after a flush. Every span carries
the pid of the process that made it.
"""

from __future__ import annotations

import os
import signal
import sys

import obs


def work(role: str, count: int) -> None:
    for i in range(count):
        with obs.span("work {role} {i}", role=role, i=i, pid=os.getpid()):
            obs.info("step {i}", i=i)


def child(role: str) -> None:
    work(role, 20)
    if role == "graceful":
        # An ordinary interpreter exit (SystemExit unwinds to the top): obs flushes at exit.
        sys.exit(0)
    obs.force_flush()
    work(role + " after flush", 5)  # lost when the worker dies: nothing flushed it
    if role == "crash":
        os._exit(70)
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> int:
    endpoint, store = sys.argv[1], sys.argv[2]
    obs.configure(service_name="forking", otlp_endpoint=endpoint, store=store, console=False)
    work("parent before fork", 3)
    obs.force_flush()
    children = []
    for role in ("graceful", "crash", "killed"):
        pid = os.fork()
        if pid == 0:
            child(role)
        children.append(pid)
    statuses = [os.waitpid(pid, 0)[1] for pid in children]
    work("parent after fork", 3)
    obs.force_flush()
    print("children", " ".join(str(p) for p in children), flush=True)
    print("statuses", " ".join(str(s) for s in statuses), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
