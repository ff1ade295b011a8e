"""Counterfactual scalarizers on a simulated ferroelectric (SPM) film.

1. Run a short DKL experiment on a simulated PFM sample guided by the hysteresis
   **loop area** (the run is stored in an embedded Tiled catalog).
2. Load it back from the catalog only (no instrument needed) and replay the actual
   path with the run's own specs: the decisions are reproduced exactly.
3. Replay it with another loop scalarizer, the **coercive-field width**
   (``coercive_field(which="width")``): at every step, where would the model guided by
   the coercive field have gone instead? Print how the paths diverge and save figures.

Run:  python examples/counterfactual_replay.py [OUT_DIR]   (about a minute on 2 CPU cores)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
from bluesky import RunEngine

from autoscope import storage, trace
from autoscope.devices.sim import SimSPM
from autoscope.plans import dkl_explore
from autoscope.replay import counterfactual, feature_space, retrace
from autoscope.sim import make_sample

LOOP_AREA = {"name": "loop_area", "params": {}}
COERCIVE_WIDTH = {"name": "coercive_field", "params": {"which": "width"}}
MODEL = {"name": "dkl", "params": {"n_iter": 60, "warm_iter": 15}}


def run_experiment(catalog_dir: Path) -> str:
    """Run 30 loops (8 seeds) on a 40 x 40 simulated film; return the run uid."""
    sample = make_sample("spm", shape=(40, 40), seed=2)
    microscope = SimSPM(sample=sample, seed=0)
    client = storage.open_catalog(catalog_dir)
    RE = RunEngine({}, call_returns_result=False)
    RE.subscribe(storage.make_writer(client))
    plan = dkl_explore(microscope, LOOP_AREA, "ei", budget=30, n_seed=8, patch_size=8,
                       seed=0, model=MODEL)  # fmt: skip
    (uid,) = RE(plan)
    storage.close_catalog(client)
    return uid


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    uid = run_experiment(out / "catalog")
    tr = trace.load(uid, catalog=out / "catalog")  # from here on: stored documents only
    print(f"run {uid}: {tr.n_measured} loops, {len(tr.chosen_ids)} model decisions")

    own = counterfactual(tr)
    print(f"replay with the run's own specs reproduces it: {own.chosen_ids == tr.chosen_ids}")

    cf = counterfactual(tr, scalarizer=COERCIVE_WIDTH)
    r = np.corrcoef(*(v[np.isfinite(v) & np.isfinite(cf.values)] for v in (tr.values, cf.values)))
    print(f"loop area vs coercive width along the path: correlation {r[0, 1]:+.2f}")
    print(f"agreement {cf.agreement:.0%}, first divergence at decision {cf.first_divergence}")
    print(" step  actual (r, c)  coercive-guided (r, c)  distance px  rank of actual")
    for t in range(cf.n_decisions):
        act = tuple(int(x) for x in tr.candidates[cf.actual_ids[t]])
        alt = tuple(int(x) for x in cf.chosen_pixels()[t])
        d = cf.distance()[t]
        print(f" {cf.steps[t]:4d}  {act!s:13}  {alt!s:22}  {d:11.1f}  {cf.actual_rank[t]:14d}")

    cf.figure(tr).savefig(out / "counterfactual.png", dpi=90)
    retrace(tr, recommender=own.recommender).figure().savefig(out / "retrace.png", dpi=90)
    feature_space(tr, "pca", recommender=own.recommender).figure().savefig(
        out / "feature_space.png", dpi=90
    )
    print(f"figures in {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="autoscope-cf-")))
