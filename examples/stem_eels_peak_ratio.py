"""STEM-EELS: find where the surface plasmon outshines the bulk plasmon, with 2 % of the pixels.

A simulated HAADF image of metal nanoparticles in a matrix is cheap everywhere; a low-loss EELS
spectrum is costly. The scalarizer is the ratio of the highest signal at 3–9 eV (surface
plasmon) to the highest at 12–26 eV (bulk plasmon): it peaks on the particles' rims. A deep
kernel learning model, retrained after every spectrum, learns the ratio from the image
patches and chooses the next pixel by expected improvement. The run is stored in Tiled
(``$AUTOSCOPE_CATALOG``, or the default catalog), read back, and written as an HTML report
with the spectra at the best, a typical and the worst point.

Run:  python examples/stem_eels_peak_ratio.py [REPORT_DIR]      (about 30 s on 2 CPU cores)
"""

from __future__ import annotations

import sys
from pathlib import Path

from bluesky import RunEngine

from autoscope import report, storage, trace
from autoscope.devices.sim import SimSTEM
from autoscope.plans import dkl_explore
from autoscope.sim import make_sample

PEAK_RATIO = {
    "name": "peak_ratio",
    "params": {"low1": 3.0, "high1": 9.0, "low2": 12.0, "high2": 26.0},
}


def main(out: Path) -> dict:
    sample = make_sample("stem", shape=(40, 40), seed=1)  # 4 x 4 nm, 0.1 nm pixels
    microscope = SimSTEM(sample=sample, seed=0)
    RE = RunEngine({}, call_returns_result=False)
    catalog = storage.open_catalog()  # $AUTOSCOPE_CATALOG or the default embedded catalog
    RE.subscribe(storage.make_writer(catalog))
    (uid,) = RE(dkl_explore(microscope, PEAK_RATIO, "ei", budget=30, n_seed=8, patch_size=12,
                            seed=0))  # fmt: skip
    tr = trace.load(uid, catalog)  # from here on: only what was stored
    summary = report.summarize(tr, sample)
    print(report.format_summary(summary))
    print("report:", report.make_report(tr, out, sample=sample))
    storage.close_catalog(catalog)
    return summary


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("autoscope-report") / "stem-eels")
