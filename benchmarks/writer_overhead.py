"""What the Tiled writer costs per step of a DKL-like run (docs/storage.md).

Each step of the plan reads a 128-point spectrum with six scalars (``primary``), then three
64×64 maps with the same scalars (``decisions``). The time spent inside
``make_writer(catalog)`` is measured for every document and summed over the run. One run is
done per repeat, each into a fresh embedded catalog. The script prints the median cost per
step and what fraction it is of a 0.2 s decision. The goal is under 10 % of a step that
takes 0.2 s with the writer, i.e. at most 22 ms.

Usage::

    python benchmarks/writer_overhead.py --steps 100 --repeats 5
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import warnings
from pathlib import Path

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
import numpy as np
from bluesky import RunEngine

from autoscope.devices import DataSignal
from autoscope.storage import close_catalog, make_writer, open_catalog


def writer_seconds_per_step(n_steps: int, seed: int = 0) -> tuple[float, int]:
    """Run the DKL-like plan once into a fresh catalog.

    Returns the writer's seconds per step and the number of events stored.
    """
    rng = np.random.default_rng(seed)
    spectrum = DataSignal(name="spectrum", value=np.zeros(128))
    scalars = [DataSignal(name=f"s{i}", value=0.0) for i in range(6)]
    maps = [DataSignal(name=f"map{i}", value=np.zeros((64, 64))) for i in range(3)]
    with tempfile.TemporaryDirectory() as tmp:
        catalog = open_catalog(Path(tmp) / "catalog")
        writer, spent = make_writer(catalog), []

        def timed(name, doc):
            t0 = time.perf_counter()
            writer(name, doc)
            spent.append(time.perf_counter() - t0)

        @bpp.run_decorator()
        def plan():
            for _ in range(n_steps):
                spectrum.put(rng.normal(size=128))
                yield from bps.trigger_and_read([spectrum, *scalars])
                for m in maps:
                    m.put(rng.normal(size=(64, 64)))
                yield from bps.trigger_and_read([*maps, *scalars], name="decisions")

        loop = asyncio.new_event_loop()
        engine = RunEngine({}, loop=loop, call_returns_result=False)
        engine.subscribe(timed)
        (uid,) = engine(plan())
        run = catalog[uid]
        with warnings.catch_warnings():  # xarray: the square maps repeat a dimension name
            warnings.simplefilter("ignore", UserWarning)
            events = len(run["primary"].read()["time"]) + len(run["decisions"].read()["time"])
        close_catalog(catalog)
        loop.call_soon_threadsafe(loop.stop)
        engine._th.join()
        loop.close()
    return sum(spent) / n_steps, events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    a = parser.parse_args()
    out = [writer_seconds_per_step(a.steps, seed) for seed in range(a.repeats)]
    per_step = np.array([s for s, _ in out]) * 1e3
    print(
        f"writer per step: median {np.median(per_step):.1f} ms "
        f"[{per_step.min():.1f}-{per_step.max():.1f}] over {a.repeats} runs of {a.steps} steps "
        f"({out[0][1]} events each); goal <= 22.2 ms (10 % of a 0.2 s step): "
        f"{'met' if np.median(per_step) <= 22.2 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
