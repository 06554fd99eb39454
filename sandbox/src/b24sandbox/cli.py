"""Command line: `b24sandbox serve [--host 127.0.0.1] [--port 8024] [--https] [--domain HOST:PORT]
[--oauth-host HOST:PORT] [--event-delay SECONDS] [--state FILE] [--data-dir DIR]`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from b24sandbox.runtime import SandboxSettings
from b24sandbox.server import bind_socket, create_app, make_server
from b24sandbox.tls import ensure_certificate


def default_data_dir() -> Path:
    """`$XDG_DATA_HOME/b24sandbox` or `~/.local/share/b24sandbox`."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "b24sandbox"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    parser = argparse.ArgumentParser(prog="b24sandbox", description="A local Bitrix24 portal for tests")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the sandbox portal")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8024, help="0 picks a free port")
    serve.add_argument("--https", action="store_true", help="TLS with a generated self-signed certificate")
    serve.add_argument("--domain", help="host:port the portal reports (default: host:port it listens on)")
    serve.add_argument("--oauth-host", help="host:port of the OAuth server (default: the portal's)")
    serve.add_argument("--event-delay", type=float, default=0.0, help="seconds before an event is delivered")
    serve.add_argument("--state", help="JSON state file restored at start and written at stop")
    serve.add_argument("--data-dir", type=Path, default=None, help="where the TLS certificate is kept")
    return parser


def serve(args: argparse.Namespace) -> None:
    """Run the sandbox until interrupted."""
    sock = bind_socket(args.host, args.port)
    port = sock.getsockname()[1]
    domain = args.domain or f"{args.host}:{port}"
    protocol = "https" if args.https else "http"
    settings = SandboxSettings(
        domain=domain,
        protocol=protocol,
        oauth_host=args.oauth_host,
        event_delay=args.event_delay,
        state_file=args.state,
    )
    options: dict[str, Any] = {}
    if args.https:
        cert, key = ensure_certificate(args.data_dir or default_data_dir())
        options = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
        print(f"TLS certificate: {cert}")
    base = f"{protocol}://{domain}"
    print(f"Portal (REST):   {base}/rest/")
    print(f"Control API:     {base}/_sandbox/  (OpenAPI {base}/_sandbox/openapi.json)")
    print(f"Console:         {base}/")
    sys.stdout.flush()
    make_server(create_app(settings), **options).run(sockets=[sock])


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the `b24sandbox` command."""
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        serve(args)


if __name__ == "__main__":
    main()
