"""BOARS: a person votes on hysteresis loops, the target evolves, then the model drives alone.

After each measured loop a voter says 0 (bad), 1 (neutral) or 2 (good). The target spectrum is
the vote-weighted mean of the liked loops, and the run's scalarizer becomes the similarity to that
target, so the DKL model learns where the film has loops the person likes. The human weight
decays as exp(-step / tau): after about 3 tau measurements the voter is not asked any more.

Here the "person" is a simulated expert who likes symmetric loops (no imprint): it votes 2 when
``loop_symmetry`` (the Pearson correlation of the up branch with the mirrored down branch) is
above 0.97 and 0 below 0.93. The example shows the mechanics (votes, the decaying human weight,
the target's changes, the ``votes`` stream and the report's votes panel); whether votes pay off
depends on how well similarity to the target captures what the person likes (the measured effect
for a simulated expert who prefers a peak shape is in ``docs/steering.md``). Pass ``--vote`` to
vote yourself in the terminal instead.

Run:  python examples/boars_voting.py [--vote] [REPORT_DIR]   (about 40 s on 2 CPU cores)
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np
from bluesky import RunEngine

from autoscope import report, storage, trace
from autoscope.devices.sim import SimSPM
from autoscope.plans import dkl_explore
from autoscope.sim import make_sample
from autoscope.steering import SimulatedExpert, Steering, TerminalVoter, loop_symmetry

GOOD, BAD = 0.97, 0.93  # the simulated expert's thresholds on loop_symmetry


def main(out: Path, vote_yourself: bool = False) -> dict:
    sample = make_sample("spm", shape=(40, 40), seed=1)
    microscope = SimSPM(sample=sample, seed=0)
    steer = Steering(name="steer")
    voter = TerminalVoter() if vote_yourself else SimulatedExpert(score=loop_symmetry, good=GOOD,
                                                                  bad=BAD)  # fmt: skip
    steer.boars(voter, every=1, tau=8.0, metric="cosine")
    RE = RunEngine({}, call_returns_result=False)
    catalog = storage.open_catalog()  # $AUTOSCOPE_CATALOG or the default embedded catalog
    RE.subscribe(storage.make_writer(catalog))
    (uid,) = RE(dkl_explore(microscope, "loop_area", "ei", budget=30, n_seed=6, patch_size=8,
                            seed=0, steering=steer))  # fmt: skip
    tr = trace.load(uid, catalog)
    votes = [v for v in tr.votes if v["vote"] >= 0]
    counts = Counter(int(v["vote"]) for v in votes)
    print(f"{len(votes)} votes: {counts[2]} good, {counts[1]} neutral, {counts[0]} bad; "
          f"the voter was last asked at step {max(v['step'] for v in tr.votes)}")  # fmt: skip
    changes = [r for r in tr.interventions if r["who"] == "boars"]
    print(f"the target changed {len(changes)} times (each a 'scalarizer' intervention)")
    sym = np.array([loop_symmetry(s, tr.axis) for s in tr.spectra])
    rows, cols = np.mgrid[0:40:2, 0:40:2]
    grid = np.array([loop_symmetry(sample.spectrum(r, c), sample.axis)
                     for r, c in zip(rows.ravel(), cols.ravel(), strict=True)])  # fmt: skip
    after = sym[6:]  # the model's choices (after the 6 random seed loops)
    print(f"symmetric loops (symmetry >= {GOOD}): {np.mean(after >= GOOD):.0%} of the model's "
          f"choices, against {np.mean(grid >= GOOD):.0%} of the film")  # fmt: skip
    print("report (with the votes panel):", report.make_report(tr, out, sample=sample))
    storage.close_catalog(catalog)
    return {"votes": votes, "symmetry": sym, "changes": changes}


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--vote"]
    main(Path(args[0]) if args else Path("autoscope-report") / "boars", "--vote" in sys.argv)
