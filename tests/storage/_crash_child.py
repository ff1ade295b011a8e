"""A real autoscope run in its own process, to be killed by the tests (``python _crash_child.py``).

Arguments (JSON, one argv entry): ``catalog`` (directory or URI), ``api_key``,
``budget``, ``flush_interval``, ``batch_size``, ``faults`` (a FaultModel dict or
null), ``print_first`` (print progress before the writer sees a document),
``shape`` (the tiny sample's grid, default 16 x 16).
Prints ``<name> <stream> <count>`` for every document once the writer has taken
it (journaled), flushed, so the parent knows what was emitted.
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    opts = json.loads(argv[0])
    from bluesky import RunEngine

    from autoscope import plans
    from autoscope.devices.sim import SimMicroscope
    from autoscope.storage import make_writer, open_catalog
    from autoscope.testing import TinySample

    client = open_catalog(opts["catalog"], api_key=opts.get("api_key"))
    extra = {"faults": opts["faults"]} if opts.get("faults") else {}
    shape = tuple(opts.get("shape", (16, 16)))
    mic = SimMicroscope(TinySample(shape=shape, seed=3), seed=0, **extra)
    RE = RunEngine({})
    streams: dict[str, str] = {}
    counts: dict[str, int] = {}

    def progress(name, doc):
        stream = ""
        if name == "descriptor":
            streams[doc["uid"]] = doc["name"]
        if name == "event":
            stream = streams[doc["descriptor"]]
            counts[stream] = counts.get(stream, 0) + 1
        print(name, stream or "-", counts.get(stream, 0), flush=True)

    writer = make_writer(
        client, batch_size=opts.get("batch_size", 50), flush_interval=opts["flush_interval"]
    )
    if opts.get("print_first"):
        RE.subscribe(progress)
        RE.subscribe(writer)
    else:
        RE.subscribe(writer)
        RE.subscribe(progress)
    model = {"name": "dkl", "params": {"n_iter": 10, "warm_iter": 3}}
    scalarizer = {"name": "centroid", "params": {"low": 0.0, "high": 10.0}}
    plan = plans.dkl_explore(mic, scalarizer, budget=opts["budget"], n_seed=3, patch_size=5,
                             seed=1, model=model, map_every=1)  # fmt: skip
    RE(plan)
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
