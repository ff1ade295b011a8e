"""What a decision on another machine costs in transport: RemoteRecommender against its server.

Starts ``autoscope decide-server`` on a free loopback port (one torch thread), opens a
session on a 64 x 64 image with 16 x 16 patches (2,401 candidates), ingests seed points
and then, decision after decision, measures each request's wall time at the client and
the server's own time for it (``RemoteRecommender.last_round_trip``); the transport is
their difference: msgpack encoding, ZeroMQ over loopback TCP, decoding. Reported per kind
of request, median and 90th percentile in ms:

- ``suggest``: one decision (reply: the point, ``pending``, ``last_decision``);
- ``ingest``: one measured value;
- ``maps``: ``predict`` + ``acquisition`` (three (N,) float arrays, as ``map_every=1`` runs);
- ``ping``: ``measured_ids`` (the smallest request).

Loopback only: across a network add the round-trip time of the link per request (a plain
run makes about 5 requests per decision: ``should_stop``, ``predict``, ``acquisition``,
``suggest``, ``ingest``).

    python benchmarks/decision_transport.py --decisions 20
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np

from autoscope.remote import RemoteRecommender
from autoscope.sim import make_sample


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    """Run the measurement and print one table (markdown)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=20)
    parser.add_argument("--shape", type=int, default=64)
    args = parser.parse_args()
    address = f"tcp://127.0.0.1:{_free_port()}"
    exe = Path(sys.executable).with_name("autoscope")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    server = subprocess.Popen([str(exe), "decide-server", "--bind", address, "--threads", "1"],
                              stdout=subprocess.PIPE, text=True, env=env)  # fmt: skip
    try:
        assert server.stdout is not None
        server.stdout.readline()  # "listening on ..."
        sample = make_sample("stem", shape=(args.shape, args.shape), seed=0)
        truth = sample.truth(sample.default_scalarizer)
        config = {"patch_size": 16, "policy": "ei", "seed": 0,
                  "model": {"name": "dkl", "params": {"threads": 1}}}  # fmt: skip
        times: dict[str, list[float]] = {"suggest": [], "ingest": [], "maps": [], "ping": []}
        with RemoteRecommender(address, sample.image, timeout=600, **config) as rec:
            rng = np.random.default_rng(0)
            seeds = rng.choice(len(rec.candidates), 10, replace=False)
            rec.ingest([{"_id": int(i), "value": float(truth[tuple(rec.candidates[i])])}
                        for i in seeds])  # fmt: skip

            def transport() -> float:
                t = rec.last_round_trip
                return 1e3 * (t["total"] - t["server"])

            for _ in range(args.decisions):
                _ = rec.measured_ids
                times["ping"].append(transport())
                rec.predict()
                maps = transport()
                rec.acquisition()
                times["maps"].append(maps + transport())
                (p,) = rec.suggest(1)
                times["suggest"].append(transport())
                rec.ingest([{"_id": p["_id"], "value": float(truth[p["row"], p["col"]])}])
                times["ingest"].append(transport())
        n = len(rec.candidates)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"transport per request, {args.shape}x{args.shape} image, {n} candidates, "
          f"{args.decisions} decisions, loopback TCP (ms)\n")  # fmt: skip
    print("| request | median | p90 |\n| --- | --- | --- |")
    for k, v in times.items():
        print(f"| {k} | {np.median(v):.2f} | {np.percentile(v, 90):.2f} |")


if __name__ == "__main__":
    main()
