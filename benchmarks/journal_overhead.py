"""What the journal and the Tiled writer cost on the plan's path per step, at 64×64 (JOURNAL.md).

Each step of the plan emits what ``dkl_explore`` emits at 64×64 with 16×16 patches: one
``primary`` event (a 128-point spectrum, six scalars) and one ``decisions`` event (three
maps over the 2,401 candidates, eight scalars). The time spent inside the RunEngine
callback is measured for every document and summed over the run, for:

* ``journal-fsync-document``: the journal alone, ``fsync="document"`` (append + flush +
  ``os.fsync`` of every document before the next step);
* ``journal``: the journal alone with its default ``fsync="interval"`` (append + flush; start
  and stop forced at once, the rest at most 1 s later, here on the plan's path);
* ``safe-writer``: ``make_writer(catalog)``, the default: journal + hand-off to the
  background Tiled worker (what the plan waits for);
* ``tiled-writer``: ``make_writer(catalog, journal=False)``, the plain ``TiledWriter`` on
  the RunEngine's thread (the former default), for comparison.

The goal: journal + writer ≤ 10 ms per step on 2 cores. The background worker's own CPU is
reported as the end-to-end wall time of the run beside the plan's time. ``--faults`` also
runs a small experiment on an instrument with injected faults and prints how many
measurements failed and were stored.

Usage::

    python benchmarks/journal_overhead.py --steps 100 --repeats 3 [--faults]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
import numpy as np
from bluesky import RunEngine

from autoscope.devices import DataSignal
from autoscope.storage import Journal, close_catalog, make_writer, open_catalog

N_CANDIDATES = 49 * 49  # 64 x 64 image, 16 x 16 patches


def _engine() -> tuple[RunEngine, asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    return RunEngine({}, loop=loop, call_returns_result=False), loop


def _close(engine: RunEngine, loop: asyncio.AbstractEventLoop) -> None:
    loop.call_soon_threadsafe(loop.stop)
    engine._th.join()
    loop.close()


def path_cost(mode: str, n_steps: int, seed: int = 0) -> dict[str, float]:
    """Run the 64x64-like plan once; return the callback's ms per step and the run's wall s."""
    rng = np.random.default_rng(seed)
    spectrum = DataSignal(name="spectrum", value=np.zeros(128))
    scalars = [DataSignal(name=f"s{i}", value=0.0) for i in range(6)]
    extra = [DataSignal(name=f"d{i}", value=0.0) for i in range(2)]
    maps = [DataSignal(name=f"map{i}", value=np.zeros(N_CANDIDATES)) for i in range(3)]
    with tempfile.TemporaryDirectory() as tmp:
        catalog = None
        if mode == "journal":
            callback = Journal(Path(tmp) / "journal")
        elif mode == "journal-fsync-document":
            callback = Journal(Path(tmp) / "journal", fsync="document")
        else:
            catalog = open_catalog(Path(tmp) / "catalog")
            journal = Path(tmp) / "journal" if mode == "safe-writer" else False
            callback = make_writer(catalog, journal=journal)
        spent: list[float] = []

        def timed(name, doc):
            t0 = time.perf_counter()
            callback(name, doc)
            spent.append(time.perf_counter() - t0)

        @bpp.run_decorator()
        def plan():
            for _ in range(n_steps):
                spectrum.put(rng.normal(size=128))
                yield from bps.trigger_and_read([spectrum, *scalars])
                for m in maps:
                    m.put(rng.normal(size=N_CANDIDATES))
                yield from bps.trigger_and_read([*maps, *scalars, *extra], name="decisions")

        engine, loop = _engine()
        engine.subscribe(timed)
        t0 = time.perf_counter()
        (uid,) = engine(plan())
        wall = time.perf_counter() - t0
        stored = None
        if catalog is not None:
            run = catalog[uid]
            stored = len(run["primary"].base["internal"].read())
            close_catalog(catalog)
        _close(engine, loop)
    stop_ms = spent[-1] * 1e3  # the stop document (the safe writer waits for delivery there)
    return {
        "ms_per_step": 1e3 * sum(spent[:-1]) / n_steps,
        "stop_ms": stop_ms,
        "wall_s": wall,
        "stored": stored,
    }


def fault_run(budget: int = 60, seed: int = 4) -> dict[str, object]:
    """An experiment on a faulty instrument into a catalog: faults injected / stored."""
    from autoscope import plans, trace
    from autoscope.devices.sim import SimMicroscope
    from autoscope.testing import TinySample

    faults = {"nan": 0.05, "inf": 0.05, "empty": 0.05, "short": 0.05, "zero": 0.05,
              "move_fail": 0.2, "move_timeout": 0.05, "timeout_s": 0.01, "seed": seed}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        catalog = open_catalog(Path(tmp) / "catalog")
        mic = SimMicroscope(TinySample(seed=0), seed=1, faults=faults)
        engine, loop = _engine()
        engine.subscribe(make_writer(catalog, journal=Path(tmp) / "journal"))
        model = {"name": "dkl", "params": {"n_iter": 10, "warm_iter": 3}}
        centroid = {"name": "centroid", "params": {"low": 0.0, "high": 10.0}}
        (uid,) = engine(plans.dkl_explore(mic, centroid, budget=budget, n_seed=5, patch_size=8,
                                          seed=1, model=model, map_every=0))  # fmt: skip
        tr = trace.load(uid, catalog=catalog)
        close_catalog(catalog)
        _close(engine, loop)
    kinds: dict[str, int] = {}
    for f in tr.faults:
        if f:
            kinds[f] = kinds.get(f, 0) + 1
    return {
        "budget": budget,
        "stored": tr.n_measured,
        "failed": sum(kinds.values()),
        "kinds": kinds,
        "exit_status": tr.exit_status,
        "moves_retried": "move faults are retried 3 times; 'move' = all 4 tries failed",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--faults", action="store_true")
    a = parser.parse_args()
    out = {}
    for mode in ("journal-fsync-document", "journal", "safe-writer", "tiled-writer"):
        runs = [path_cost(mode, a.steps, seed) for seed in range(a.repeats)]
        out[mode] = {
            k: float(np.median([r[k] for r in runs])) for k in ("ms_per_step", "stop_ms", "wall_s")
        }
        out[mode]["stored"] = runs[0]["stored"]
        print(f"{mode:22s} {out[mode]['ms_per_step']:7.2f} ms/step on the plan's path, "
              f"stop {out[mode]['stop_ms']:7.1f} ms, run {out[mode]['wall_s']:5.2f} s, "
              f"stored {out[mode]['stored']}", flush=True)  # fmt: skip
    if a.faults:
        out["faults"] = fault_run()
        print("faults:", json.dumps(out["faults"]))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
