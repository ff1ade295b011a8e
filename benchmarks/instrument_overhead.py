"""Per-point overhead of each instrument path, measured side by side in one run.

For every path — the in-process ophyd v1 sim, the ophyd-async sim, the instrument
over EPICS Channel Access to an ``autoscope ioc`` process on loopback, and Nion's
STEM simulator (nionswift-usim) through the Nion adapter — the same RunEngine plan
measures ``--points`` random pixels of a 32 x 32 scan exactly as ``dkl_explore``
does at each step (:func:`autoscope.plan_stubs.measure_point`: move both probe
axes and wait, trigger the spectrometer and wait, read spectrum, probe and point
into one event), with no model and no storage, so the time per point is the
instrument path's own cost. Sims and the IOC have zero dwell and move time;
Nion's camera has a fixed exposure (``--nion-exposure``), reported apart.

Usage::

    python benchmarks/instrument_overhead.py --points 60 --rounds 3 \
        --markdown benchmarks/INSTRUMENT_OVERHEAD.md
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import time

import numpy as np

SHAPE = 32


def _free_port() -> int:
    with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        tcp.bind(("127.0.0.1", 0))
        port = tcp.getsockname()[1]
        udp.bind(("127.0.0.1", port))
        return port


def _points(n: int, seed: int) -> list[tuple[int, int]]:
    rng = np.random.default_rng(seed)
    flat = rng.choice(SHAPE * SHAPE, size=n, replace=False)
    return [(int(i // SHAPE), int(i % SHAPE)) for i in flat]


def _time_points(engine, mic, pixels) -> np.ndarray:
    """Seconds per point of measure_point over ``pixels``, inside one run."""
    import bluesky.plan_stubs as bps
    import bluesky.preprocessors as bpp

    from autoscope.plan_stubs import PointInfo, array_key

    point = PointInfo(name="point")
    key, _ = array_key(mic.spectrometer)
    times: list[float] = []

    @bpp.run_decorator(md={"purpose": "instrument overhead"})
    def plan():
        from autoscope.plan_stubs import measure_point

        for step, (row, col) in enumerate(pixels):
            t0 = time.perf_counter()
            yield from measure_point(mic, point, lambda s: float(np.sum(s)), spectrum_key=key,
                                     row=row, col=col, candidate_id=step, step=step,
                                     phase="bench")  # fmt: skip
            times.append(time.perf_counter() - t0)
        yield from bps.null()

    engine(plan())
    return np.asarray(times[2:])  # the first points open streams (descriptors)


def _engine():
    from bluesky import RunEngine

    loop = asyncio.new_event_loop()
    return RunEngine({}, loop=loop), loop


def _close(engine, loop) -> None:
    loop.call_soon_threadsafe(loop.stop)
    engine._th.join(5)
    loop.close()


def _connect(engine, mic) -> None:
    asyncio.run_coroutine_threadsafe(mic.connect(timeout=10), engine.loop).result(60)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--points", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--nion-exposure", type=float, default=0.01, help="EELS exposure, s")
    ap.add_argument("--skip", nargs="*", default=[], help="paths to skip (epics, nion, ...)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--markdown", default=None)
    args = ap.parse_args(argv)

    port = _free_port()
    os.environ.update(EPICS_CA_ADDR_LIST=f"127.0.0.1:{port}", EPICS_CA_AUTO_ADDR_LIST="NO")
    from autoscope.devices.sim import SimMicroscope
    from autoscope.devices.sim_async import SimAsyncMicroscope
    from autoscope.sim import make_sample

    sample = make_sample("stem", shape=(SHAPE, SHAPE), seed=0)
    results: dict[str, dict] = {}

    def record(name, per_point, note=""):
        pp = np.concatenate(per_point) * 1000.0
        results[name] = {
            "median_ms": float(np.median(pp)),
            "p95_ms": float(np.percentile(pp, 95)),
            "mean_ms": float(np.mean(pp)),
            "n": int(pp.size),
            "note": note,
        }
        print(f"{name:28s} median {np.median(pp):7.2f} ms  p95 {np.percentile(pp, 95):7.2f} ms"
              f"  ({pp.size} points) {note}", flush=True)  # fmt: skip

    def run_path(name, make, note="", setup=None):
        engine, loop = _engine()
        try:
            mic = make()
            if setup is not None:
                setup(engine, mic)
            per = [_time_points(engine, mic, _points(args.points, r)) for r in range(args.rounds)]
            record(name, per, note)
        finally:
            if "aioca" in sys.modules:  # channels are bound to this loop: drop them first
                sys.modules["aioca"].purge_channel_caches()
            _close(engine, loop)

    run_path("in-process sim (ophyd v1)", lambda: SimMicroscope(sample, seed=0))
    run_path("ophyd-async sim", lambda: SimAsyncMicroscope(sample, seed=0), setup=_connect)
    if "epics" not in args.skip:
        env = dict(os.environ, EPICS_CA_SERVER_PORT=str(port))
        cmd = [sys.executable, "-m", "autoscope.devices.cli", "--sample", "stem",
               "--shape", str(SHAPE), "--prefix", "BENCH:", "--port", str(port)]  # fmt: skip
        ioc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            from autoscope.devices.epics import EpicsMicroscope

            time.sleep(3.0)
            run_path("EPICS CA (loopback IOC)", lambda: EpicsMicroscope("BENCH:"),
                     setup=_connect)  # fmt: skip
        finally:
            ioc.terminate()
            ioc.wait(10)
    if "nion" not in args.skip:
        from autoscope.devices.nion import usim_instrument

        with usim_instrument((SHAPE, SHAPE), dwell=args.nion_exposure) as nion:
            run_path("Nion usim (Nion adapter)", lambda: nion, setup=_connect,
                     note=f"includes a {args.nion_exposure * 1000:g} ms EELS exposure")  # fmt: skip

    base = results["in-process sim (ophyd v1)"]["median_ms"]
    env = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_1min": os.getloadavg()[0],
        "points": args.points,
        "rounds": args.rounds,
        "shape": SHAPE,
    }
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"environment": env, "results": results}, fh, indent=2)
    if args.markdown:
        lines = [
            "# Instrument paths: per-point overhead",
            "",
            "Produced by `benchmarks/instrument_overhead.py` (one run, all paths side by side). ",
            f"{args.points} random pixels of a {SHAPE}x{SHAPE} STEM scan x {args.rounds} rounds "
            "per path; each point is `autoscope.plan_stubs.measure_point` (move x and y and wait, "
            "trigger the spectrometer and wait, read spectrum + probe + point into one event) "
            "under a RunEngine, no model, no storage. Zero dwell and move time on the sims and "
            "the IOC.",
            "",
            "| path | median ms/point | p95 ms/point | over in-process (median) | points |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for name, r in results.items():
            lines.append(
                f"| {name} | {r['median_ms']:.2f} | {r['p95_ms']:.2f} | "
                f"{r['median_ms'] - base:+.2f} | {r['n']} |"
            )
        notes = [f"- {k}: {v['note']}" for k, v in results.items() if v["note"]]
        lines += [
            "",
            *notes,
            "- Per point the EPICS path makes six exchanges with the IOC one after the other: "
            "both moves (together), both readbacks (checked), ACQUIRE with put-completion, the "
            "ERROR PV (checked), spectrum + row + col (together), probe x + y (together). Each is "
            "well under 1 ms on an idle loopback; on a busy machine most of the cost is waiting "
            "for the IOC process to be scheduled, so compare paths only within one run (load "
            "below).",
            "- The goal for CA on loopback is <= 30 ms of overhead per point.",
            "",
            "Environment: " + json.dumps(env),
            "",
        ]
        with open(args.markdown, "w") as fh:
            fh.write("\n".join(lines))


if __name__ == "__main__":
    main()
