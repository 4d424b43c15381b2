"""``obs ui``: the subcommand obs-ui adds to the ``obs`` command (entry point ``obs.commands``)."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import webbrowser
from typing import Any

from obs._store import resolve_path

TOKEN_ENV = "OBS_UI_TOKEN"


def add_command(commands: Any) -> None:
    parser = commands.add_parser(
        "ui",
        help="a local web app over the store: live traces, SQL explore, dashboards",
        description="Serve a read-only web app over the local store on 127.0.0.1.",
    )
    parser.add_argument("--db", help="the store file (default: $OBS_STORE_PATH or .obs/spans.db)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--open", action="store_true", help="open it in a browser")
    parser.add_argument(
        "--token",
        help=f"access token the page requires (default: ${TOKEN_ENV}; required off loopback; "
        "'random' makes one)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from obs_ui._server import UIServer

    store = resolve_path(args.db).absolute()
    if not store.exists():
        print(
            f"obs ui: no span store at {store} (run a program configured with obs first, or "
            "pass --db PATH / set OBS_STORE_PATH)",
            file=sys.stderr,
        )
        return 1
    token = args.token or os.environ.get(TOKEN_ENV) or None
    if token == "random":
        token = secrets.token_urlsafe(24)
    try:
        server = UIServer(store, args.host, args.port, token=token)
    except (ValueError, OSError) as exc:
        print(str(exc) if isinstance(exc, ValueError) else f"obs ui: {exc}", file=sys.stderr)
        return 2
    url = server.url + (f"?token={token}" if token else "")
    print(f"obs ui: {url}  (store {store}; read-only; Ctrl-C stops it)", flush=True)
    if args.open:
        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
