"""``autoscope serve``: a Tiled server over a catalog directory, SQLite or PostgreSQL, with a key.

Writes the server's config (:func:`~autoscope.storage.server.server_config`, mode
0600) into the catalog directory and runs the server in this process
(:func:`~autoscope.storage.server.serve`). The key comes from ``--api-key``, else
``$TILED_API_KEY``, else a random one written to ``<catalog>/api_key`` (mode 0600);
it is printed masked, never in full.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

from autoscope._argtypes import positive_int
from autoscope.errors import InputDataError

__all__ = ["HELP", "add_serve_arguments", "run_serve"]

HELP = "serve a catalog with a Tiled server (SQLite or PostgreSQL) and an API key"


def add_serve_arguments(p: argparse.ArgumentParser) -> None:
    """Add the options of ``autoscope serve`` to ``p``."""
    p.add_argument(
        "--catalog",
        metavar="DIR",
        default=None,
        help="catalog directory: config, arrays and (SQLite) databases "
        "(default: the default embedded catalog)",
    )
    p.add_argument(
        "--database",
        metavar="URI",
        default=None,
        help="postgresql://user@host:port/dbname for the catalog and event tables "
        "(default: SQLite files in the catalog directory)",
    )
    p.add_argument(
        "--api-key",
        default=None,
        help="the server's API key, >= 16 letters/digits (default $TILED_API_KEY, else a "
        "random one saved to <catalog>/api_key, mode 0600)",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=positive_int, default=8000, help="port (default 8000)")
    p.add_argument("--tls-cert", metavar="PEM", default=None, help="TLS certificate: serve HTTPS")
    p.add_argument(
        "--tls-key", metavar="PEM", default=None, help="TLS private key (with --tls-cert)"
    )
    p.add_argument(
        "--config-only",
        action="store_true",
        help="write the config file and print how to start the server, start nothing",
    )


def _key(args: argparse.Namespace, directory: Path) -> tuple[str, str]:
    """Return (key, where it came from); a generated key is saved 0600 in the catalog."""
    if args.api_key:
        return args.api_key, "--api-key"
    if os.environ.get("TILED_API_KEY"):
        return os.environ["TILED_API_KEY"], "$TILED_API_KEY"
    from autoscope.storage.server import _write_private

    key = secrets.token_hex(16)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "api_key"
    _write_private(path, key + "\n")
    return key, f"generated, saved in {path} (mode 0600)"


def run_serve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run ``autoscope serve``: write the config, print a masked banner, serve until Ctrl-C."""
    from autoscope.storage import default_catalog_dir
    from autoscope.storage.server import (
        bind_warning,
        check_api_key,
        check_database,
        mask_key,
        probe_database,
        serve,
        server_config,
    )

    if args.port > 65535:
        parser.error(f"--port must be in 1..65535, got {args.port}")
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls-cert and --tls-key go together")
    for name in ("tls_cert", "tls_key"):
        path = getattr(args, name)
        if path is not None and not Path(path).is_file():
            parser.error(f"--{name.replace('_', '-')}: no file {path}")
    try:
        check_database(args.database)
        if args.api_key is not None:
            check_api_key(args.api_key)
    except InputDataError as exc:
        parser.error(str(exc))
    directory = Path(args.catalog).expanduser() if args.catalog else default_catalog_dir()
    key, source = _key(args, directory)
    try:
        config = server_config(
            directory, key, host=args.host, port=args.port, database=args.database
        )
    except InputDataError as exc:
        parser.error(f"{exc} (from {source.split(',')[0]})")
    scheme = "https" if args.tls_cert else "http"
    url = f"{scheme}://{args.host}:{args.port}"
    database = args.database.split("@")[-1] if args.database else "SQLite in the catalog"
    print(f"catalog : {directory}\ndatabase: {database}\nconfig  : {config} (mode 0600)")
    print(f"url     : {url}\napi key : {mask_key(key)} ({source})")
    print("client  : autoscope.storage.open_catalog(url, api_key) or $TILED_API_KEY", flush=True)
    warning = bind_warning(args.host, args.tls_cert is not None)
    if args.config_only:
        if warning:
            print(warning, file=sys.stderr)
        print(f"start   : autoscope serve --catalog {directory}" + (
            f" --host {args.host}" if args.host != "127.0.0.1" else ""
        ) + (f" --port {args.port}" if args.port != 8000 else ""))  # fmt: skip
        return 0
    if args.database:
        probe_database(args.database)  # one line now rather than Tiled's traceback at start-up
    try:
        serve(config, tls_cert=args.tls_cert, tls_key=args.tls_key)
    except KeyboardInterrupt:  # uvicorn handles SIGINT itself; this is a second Ctrl-C
        return 130
    return 0
