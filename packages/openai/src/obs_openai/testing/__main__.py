"""``python -m obs_openai.testing [--host 127.0.0.1] [--port 8765]``: serve the stand-in."""

from __future__ import annotations

import argparse

from obs_openai.testing._server import StandInServer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A local OpenAI-compatible stand-in server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    server = StandInServer(args.host, args.port)
    print(f"OpenAI stand-in listening on {server.base_url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


if __name__ == "__main__":
    main()
