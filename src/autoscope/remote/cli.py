"""``autoscope decide-server``: host the decision model in this process, answer over ZeroMQ.

Prints ``autoscope decide-server: listening on <endpoint>`` once it accepts requests,
and stops on SIGINT/SIGTERM. A bind address off this host without CURVE keys prints a
warning: ZeroMQ traffic is then unauthenticated and unencrypted.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from autoscope._argtypes import positive_int

__all__ = ["HELP", "add_decide_server_arguments", "run_decide_server"]

HELP = "host the decision model (DKL recommender) for plans on other machines, over ZeroMQ"


def add_decide_server_arguments(p: argparse.ArgumentParser) -> None:
    """Add the options of ``autoscope decide-server`` to ``p``."""
    p.add_argument(
        "--bind",
        default="tcp://127.0.0.1:5555",
        help="ZeroMQ endpoint to listen on (default tcp://127.0.0.1:5555: this host only; "
        "tcp://0.0.0.0:5555 for every interface)",
    )
    p.add_argument(
        "--threads",
        type=positive_int,
        default=None,
        help="torch CPU threads (default: torch's own choice)",
    )
    p.add_argument(
        "--max-sessions", type=positive_int, default=16, help="runs served at once (default 16)"
    )
    p.add_argument(
        "--idle-timeout",
        type=float,
        default=3600.0,
        metavar="S",
        help="drop a session after S seconds without a request (default 3600)",
    )
    p.add_argument(
        "--secret-key",
        metavar="FILE",
        default=None,
        help="the server's CURVE secret certificate (*.key_secret): encrypt and authenticate",
    )
    p.add_argument(
        "--authorized-keys",
        metavar="DIR",
        default=None,
        help="directory of client public certificates (*.key): accept only those clients",
    )
    p.add_argument(
        "--make-keys",
        metavar="DIR",
        default=None,
        help="write a CURVE key pair (NAME.key, NAME.key_secret) into DIR and exit",
    )
    p.add_argument(
        "--key-name",
        default="server",
        metavar="NAME",
        help="file name of the pair --make-keys writes (default server; a client's: e.g. beamline)",
    )


def run_decide_server(args: argparse.Namespace, parser: Any = None) -> int:
    """Run ``autoscope decide-server`` until SIGINT/SIGTERM; return the exit code."""
    from autoscope.remote.server import DecisionServer, is_loopback

    if args.make_keys:
        import zmq.auth

        folder = Path(args.make_keys)
        folder.mkdir(parents=True, exist_ok=True)
        public, secret = zmq.auth.create_certificates(folder, args.key_name)
        Path(secret).chmod(0o600)
        print(f"public key (give to the other side): {public}\nsecret key (keep here): {secret}")
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    server = DecisionServer(
        args.bind,
        max_sessions=args.max_sessions,
        idle_timeout=args.idle_timeout,
        secret_key=args.secret_key,
        authorized_keys=args.authorized_keys,
    )
    if not is_loopback(server.address) and not server.encrypted:
        print(
            f"autoscope decide-server: warning: listening on {server.address} off this host "
            "without CURVE keys: ZeroMQ traffic is unauthenticated and unencrypted (anyone who "
            "reaches the port can open sessions and read images and values); give "
            "--secret-key, or keep the port behind the facility firewall",
            file=sys.stderr,
        )

    def stop(signum: int, frame: Any) -> None:
        server.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"autoscope decide-server: listening on {server.address}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.close()
    print("autoscope decide-server: stopped", flush=True)
    return 0
