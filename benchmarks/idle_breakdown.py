"""Where the instrument idle per point goes: message-level timing of overlapped runs.

Runs ``dkl_explore(..., overlap=True, model=FAST_COMMITTEE)`` on a ``SimSTEM`` (64 x 64,
dwell 0.3 s) with a RunEngine ``msg_hook`` that time-stamps every message, once per writer
set-up (``default``: :func:`autoscope.storage.make_writer` into an embedded catalog;
``nojournal``: the same without the local journal; ``none``: no writer), and splits each
gap between two model-chosen spectra (trigger to trigger, minus the dwell) into its parts.

Usage::

    python benchmarks/idle_breakdown.py --writers default nojournal none --seeds 0 1
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import tempfile
import time

import numpy as np


def parts_of_gaps(log: list[tuple[float, str, str | None]], dwell: float, n_seed: int) -> dict:
    """Split each gap after the first model decision into its parts (s); see the module doc.

    ``log`` holds ``(time, command, name)`` per message, ``name`` being the object's name
    or, for ``create``, the stream's. The decision event is part of the gap when it comes
    after the point's primary event (the order before the decision was recorded during
    the acquisition); when it is recorded while the spectrometer acquires, its cost is
    shown apart (``inside the dwell``) and the gap does not contain it.
    """
    trig = [i for i, (_, c, o) in enumerate(log) if c == "trigger" and o and "spectrometer" in o]
    parts: dict[str, list[float]] = collections.defaultdict(list)

    def first(command: str, name: str | None, lo: int, hi: int) -> int | None:
        return next((i for i in range(lo, hi) if log[i][1:] == (command, name)), None)

    for a, b in zip(trig[n_seed + 1 :], trig[n_seed + 2 :], strict=False):
        primary = first("create", "primary", a, b)
        w = max(i for i in range(a, primary) if log[i][1] == "wait")  # the spectrometer's
        done = log[w + 1][0]
        save = next(i for i in range(primary, b) if log[i][1] == "save")
        after_primary = log[save + 1][0]
        # the decision recorded with this gap: between the two triggers (inside the dwell or
        # after the primary event) or, in the old order, before the move to point b
        dt = first("trigger", "decision", a, b)
        dsave = next(i for i in range(dt, len(log)) if log[i][1] == "save") if dt else None
        decision = log[dsave + 1][0] - log[dt][0] if dt is not None and dsave else 0.0
        inside = dt is not None and dt < w
        waits = [i for i in range(save, b) if log[i][1] == "wait_for"]
        waiting = log[waits[0] + 1][0] - log[waits[0]][0] if waits else 0.0
        in_gap = 0.0 if inside else decision
        parts["dwell overshoot (timer, wake-up)"].append(done - log[a][0] - dwell)
        parts["read + primary event"].append(after_primary - done)
        parts["  of which its save (writers)"].append(after_primary - log[save][0])
        parts["waiting for the worker"].append(waiting)
        parts["decision event (in the gap)"].append(in_gap)
        parts["decision event (inside the dwell)"].append(decision if inside else 0.0)
        parts["checkpoint + move"].append(log[b][0] - after_primary - waiting - in_gap)
        parts["trigger"].append(log[b + 1][0] - log[b][0])
        parts["total (trigger to trigger - dwell)"].append(log[b][0] - log[a][0] - dwell)
    return parts


def _name(msg) -> str | None:
    """The message's object name, or the stream name of a ``create``."""
    name = getattr(msg.obj, "name", None)
    return msg.kwargs.get("name") if name is None and msg.command == "create" else name


def run(writer: str, seed: int, catalog, dwell: float, budget: int) -> dict:
    """One overlapped run; return the parts of its gaps."""
    from bluesky import RunEngine

    from autoscope.devices.sim import SimSTEM
    from autoscope.models import FAST_COMMITTEE
    from autoscope.plans import dkl_explore
    from autoscope.storage import make_writer

    mic = SimSTEM(shape=(64, 64), seed=seed, dwell=dwell)
    log: list[tuple[float, str, str | None]] = []
    loop = asyncio.new_event_loop()
    engine = RunEngine({}, loop=loop, call_returns_result=False)
    engine.msg_hook = lambda msg: log.append((time.perf_counter(), msg.command, _name(msg)))
    if writer != "none":
        engine.subscribe(make_writer(catalog, journal=None if writer == "default" else False))
    try:
        engine(dkl_explore(mic, mic.sample.default_scalarizer, "ei", budget=budget, n_seed=10,
                           seed=seed, overlap=True, model=FAST_COMMITTEE))  # fmt: skip
    finally:
        loop.call_soon_threadsafe(loop.stop)
        engine._th.join()
        loop.close()
    return parts_of_gaps(log, dwell, 10)


def main(argv: list[str] | None = None) -> None:
    """Print the median and p95 of every part per writer set-up."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--writers", nargs="+", default=["default", "nojournal", "none"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--dwell", type=float, default=0.3)
    ap.add_argument("--budget", type=int, default=30)
    args = ap.parse_args(argv)

    from autoscope.models import warm_up
    from autoscope.storage import close_catalog, open_catalog

    warm_up()
    with tempfile.TemporaryDirectory() as directory:
        catalog = open_catalog(directory)
        try:
            for writer in args.writers:
                pooled: dict[str, list[float]] = collections.defaultdict(list)
                for seed in args.seeds:
                    for k, v in run(writer, seed, catalog, args.dwell, args.budget).items():
                        pooled[k] += v
                n = len(pooled["trigger"])
                print(f"\nwriter {writer}: {n} gaps, median / p95 (ms)")
                for k, v in pooled.items():
                    print(
                        f"  {k:40s} {1e3 * np.median(v):6.2f} / {1e3 * np.percentile(v, 95):6.1f}"
                    )
        finally:
            close_catalog(catalog)


if __name__ == "__main__":
    main()
