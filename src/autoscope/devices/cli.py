"""``autoscope ioc``: serve a simulated sample over EPICS Channel Access (the instrument PC's role).

Examples
--------
``autoscope ioc --sample stem --prefix AUTOSCOPE: --port 5100`` then, in another
shell, ``EPICS_CA_ADDR_LIST=127.0.0.1:5100 EPICS_CA_AUTO_ADDR_LIST=NO
autoscope demo --instrument epics --prefix AUTOSCOPE:``.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["IOC_HELP", "add_ioc_arguments", "run_ioc_command"]

IOC_HELP = "serve a simulated sample over EPICS Channel Access (caproto IOC)"


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def add_ioc_arguments(p: argparse.ArgumentParser) -> None:
    """Register the options of ``autoscope ioc``."""
    p.add_argument("--sample", choices=("stem", "spm", "fourd"), default="stem",
                   help="simulated sample to serve (default stem)")  # fmt: skip
    p.add_argument("--prefix", default="AUTOSCOPE:", help="PV prefix (default AUTOSCOPE:)")
    p.add_argument("--shape", type=int, default=64, help="grid side in pixels (default 64)")
    p.add_argument("--seed", type=int, default=0, help="sample and noise seed (default 0)")
    p.add_argument("--dwell", type=_positive_float, default=0.0,
                   help="spectrum acquisition time, s (default 0)")  # fmt: skip
    p.add_argument("--move-time", type=_positive_float, default=0.0,
                   help="probe travel time per pixel, s (default 0)")  # fmt: skip
    p.add_argument("--port", type=int, default=None,
                   help="CA server port (default $EPICS_CA_SERVER_PORT or 5064)")  # fmt: skip
    p.add_argument("--interfaces", default="127.0.0.1",
                   help="space-separated addresses to serve on (default loopback)")  # fmt: skip


def run_ioc_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Build the sample and serve it until interrupted; returns the exit code."""
    from autoscope.devices.ioc import make_ioc, run_ioc
    from autoscope.sim import make_sample

    if args.shape < 8:
        parser.error(f"--shape must be >= 8 pixels, got {args.shape}")
    if args.seed < 0:
        parser.error(f"--seed must be >= 0, got {args.seed}")
    if args.port is not None and not 0 < args.port < 65536:
        parser.error(f"--port must be in 1..65535, got {args.port}")
    if not args.prefix.strip():
        parser.error("--prefix must not be empty")
    sample = make_sample(args.sample, shape=(args.shape, args.shape), seed=args.seed)
    ioc = make_ioc(sample, args.prefix, seed=args.seed, dwell=args.dwell,
                   move_time=args.move_time)  # fmt: skip
    port = f" on port {args.port}" if args.port else ""
    print(f"autoscope ioc: serving a {args.shape}x{args.shape} {args.sample} sample as "
          f"{args.prefix}* on {args.interfaces}{port}; Ctrl-C stops", file=sys.stderr,
          flush=True)  # fmt: skip
    run_ioc(ioc, port=args.port, interfaces=args.interfaces)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``autoscope ioc`` alone: ``python -m autoscope.devices.cli --sample stem ...``."""
    parser = argparse.ArgumentParser(prog="autoscope ioc", description=IOC_HELP)
    add_ioc_arguments(parser)
    return run_ioc_command(parser.parse_args(argv), parser)


if __name__ == "__main__":
    raise SystemExit(main())
