"""Opening the store for a command: read-only, time-limited, interruptible, errors as one line.

Every way a ``--db`` can be wrong ends as ``CommandFailed`` (a one-line message and an exit
code), never a traceback. Ctrl-C during a query interrupts SQLite itself (a runaway recursive
query stops at once) and exits 130.
"""

from __future__ import annotations

import argparse
import signal
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from obs._records import TYPE_CHECKING
from obs._store import (
    DEFAULT_TIMEOUT_S,
    MAX_VALUE_BYTES,
    StoreConnection,
    StoreUnavailable,
    arm_timeout,
    open_read_only,
    resolve_path,
)

if TYPE_CHECKING:
    from typing import Any


class CommandFailed(Exception):
    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def add_store_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--db", help="the store file (default: $OBS_STORE_PATH or .obs/spans.db)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        metavar="SECONDS",
        help=f"stop a statement that runs longer (default {DEFAULT_TIMEOUT_S:g}; 0: no limit)",
    )
    return parser


@contextmanager
def store_session(args: argparse.Namespace, command: str) -> Iterator[StoreConnection]:
    """The read-only store for one command; SQLite errors become one-line failures."""
    try:
        conn = open_read_only(resolve_path(args.db))
    except StoreUnavailable as exc:
        raise CommandFailed(f"obs {command}: {exc}") from None
    if conn.immutable:
        print(
            f"obs {command}: note: the store's location is read-only for you, so it is read "
            "as an immutable file; spans not yet checkpointed from its WAL are not shown",
            file=sys.stderr,
        )
    timeout = args.timeout if args.timeout and args.timeout > 0 else None
    arm_timeout(conn, timeout)
    previous = _interrupt_on_ctrl_c(conn)
    try:
        yield conn
    except sqlite3.Error as exc:
        if conn.interrupted:
            raise CommandFailed(f"obs {command}: interrupted", 130) from None
        if conn.timed_out:
            raise CommandFailed(
                f"obs {command}: stopped after {args.timeout:g} s (raise the limit with "
                "--timeout SECONDS)",
                3,
            ) from None
        if "authoriz" in str(exc):  # SQLite words it "not authorized" or "authorization denied"
            raise CommandFailed(
                f"obs {command}: not allowed: the obs command only reads (no writes, ATTACH, "
                "VACUUM, PRAGMAs that set something, or extensions)",
                2,
            ) from None
        if "too big" in str(exc):  # SQLite: "string or blob too big"
            raise CommandFailed(
                f"obs {command}: a value is too large (over {MAX_VALUE_BYTES // 2**20} MB; "
                "the obs command builds and reads values up to that size only)",
                2,
            ) from None
        raise CommandFailed(f"obs {command}: {exc}", 2) from None
    except StoreUnavailable as exc:
        raise CommandFailed(f"obs {command}: {exc}") from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        conn.close()


def _interrupt_on_ctrl_c(conn: StoreConnection) -> Any:
    def on_sigint(signum: int, frame: FrameType | None) -> None:
        # The progress handler sees the flag and stops SQLite; outside SQLite, stop Python.
        conn.interrupted = True
        conn.interrupt()
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGINT, on_sigint)
    except ValueError:  # not the main thread (an embedding caller): keep its handling
        return None
