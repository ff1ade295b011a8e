"""SPM: find the most switchable spots of a ferroelectric film, against a random order.

A simulated PFM image (amplitude, phase, topography) of a film with domains and walls is cheap
everywhere; a hysteresis loop (piezoresponse against DC bias) is slow and wears the tip. The
scalarizer is the loop area (response × V): large where polarization switches fully. The same
film is explored twice, stored in Tiled, and compared from the stored runs only: DKL with
expected improvement, then the same number of loops at random places. One run on one film is
one draw: which of the two gets there first varies from film to film, so judge the method by
the benchmark's medians over many seeds (``benchmarks/RESULTS.md``: 21 loops for DKL against 66
for a random order on 64 × 64 films).

Run:  python examples/spm_loop_area.py [REPORT_DIR]      (about 30 s on 2 CPU cores)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from bluesky import RunEngine

from autoscope import report, storage, trace
from autoscope.devices.sim import SimSPM
from autoscope.plans import dkl_explore, random_spectra
from autoscope.sim import make_sample

LOOP_AREA = {"name": "loop_area", "params": {}}
BUDGET = 30


def main(out: Path) -> dict:
    sample = make_sample("spm", shape=(40, 40), seed=1)
    microscope = SimSPM(sample=sample, seed=0)
    RE = RunEngine({}, call_returns_result=False)
    catalog = storage.open_catalog()  # $AUTOSCOPE_CATALOG or the default embedded catalog
    RE.subscribe(storage.make_writer(catalog))
    (dkl_uid,) = RE(dkl_explore(microscope, LOOP_AREA, "ei", budget=BUDGET, n_seed=6,
                                patch_size=8, seed=0))  # fmt: skip
    (random_uid,) = RE(random_spectra(microscope, LOOP_AREA, budget=BUDGET, patch_size=8, seed=0))
    dkl, rnd = trace.load(dkl_uid, catalog), trace.load(random_uid, catalog)
    units = f"{sample.spectrum_units} × {sample.axis_units}"
    true_best = float(np.nanmax(report.truth_values(dkl, sample)))
    print(f"true largest loop area on the film: {true_best:.1f} {units}")
    result = {}
    for name, tr in (("DKL + EI", dkl), ("random", rnd)):
        s = report.summarize(tr, sample)
        result[name] = s
        found = s["steps_to_top"] if s["steps_to_top"] is not None else f"> {BUDGET}"
        print(f"{name:9s}: best true loop area measured {s['best_true_measured']:.1f} {units}; "
              f"true top 1 % first reached after {found} loops")  # fmt: skip
    print("report:", report.make_report(dkl, out, sample=sample))
    storage.close_catalog(catalog)
    return result


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("autoscope-report") / "spm-loops")
