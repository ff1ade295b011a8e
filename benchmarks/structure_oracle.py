"""How fast could a model find the SPM top 1 % if it knew the structure exactly?

A reference for the ``spm`` benchmark task, not a method: the features are the
simulator's own latent maps at each candidate — closeness to a 180° wall, to a 90° wall
(``exp(-d^2 / 2w^2)`` by wall kind) and the domain variant (one-hot) — i.e. everything
the PFM image shows, noise-free and already disentangled. A GP (ARD Matern-5/2, the
``pca_gp`` model over all feature columns) with EI runs the benchmark protocol on them
(same seed points, noise and budget as ``autoscope bench``), with and without the
candidate position as two extra features. The wall mobility that modulates the loop
area along the walls stays hidden in both: only the position can stand in for it.

Usage::

    python benchmarks/structure_oracle.py --seeds 0 30
"""

from __future__ import annotations

import argparse
from multiprocessing import Pool

import numpy as np


def steps(args: tuple[int, bool]) -> int | None:
    """Steps to the top 1 % of one seed, with (True) or without the position."""
    import torch

    from autoscope.bench import metrics
    from autoscope.bench.methods import _noise_rng, initial_order
    from autoscope.bench.tasks import build_task
    from autoscope.recommender import DKLRecommender

    seed, with_position = args
    torch.set_num_threads(1)
    task = build_task("spm", seed)
    lat, (r, c) = task.sample.latent(), task.candidates.T
    w = task.sample.params()["wall_width"]
    near = np.exp(-(lat["wall_distance"][r, c] ** 2) / (2 * w**2))
    kind = lat["wall_kind"][r, c]
    variant = lat["variant"][r, c]
    cols = [near * (kind == 180), near * (kind == 90)]
    cols += [(variant == v).astype(float) for v in np.unique(lat["variant"])]
    if with_position:
        cols += [4 * r / task.image.shape[0], 4 * c / task.image.shape[1]]
    x = np.column_stack(cols)
    model = {"name": "pca_gp", "params": {"n_components": x.shape[1], "ard": True}}
    rec = DKLRecommender.from_features(
        x, policy="ei", seed=seed, coords=task.candidates, standardize=False, model=model
    )
    rng = _noise_rng(seed)
    order = [int(i) for i in initial_order(task.n_candidates, seed)[:10]]
    pending = [{"_id": i, "value": task.measure(i, rng)} for i in order]
    while len(order) < 100:
        rec.ingest(pending)
        i = int(rec.suggest(1)[0]["_id"])
        order.append(i)
        pending = [{"_id": i, "value": task.measure(i, rng)}]
    return metrics.steps_to_top(order, metrics.top_mask(task.truth, 0.01))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs=2, default=(0, 30), metavar=("FIRST", "STOP"))
    parser.add_argument("--jobs", type=int, default=2)
    a = parser.parse_args()
    seeds = range(*a.seeds)
    with Pool(a.jobs) as pool:
        for with_position in (True, False):
            out = pool.map(steps, [(s, with_position) for s in seeds], chunksize=1)
            found = [s for s in out if s is not None]
            med = np.median([s if s is not None else np.inf for s in out])
            label = "structure + position" if with_position else "structure only"
            print(f"{label:22s} median {med} found {len(found)}/{len(out)} steps {out}")


if __name__ == "__main__":
    main()
