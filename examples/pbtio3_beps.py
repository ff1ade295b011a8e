"""Real data: a PbTiO3 film's band-excitation piezoresponse (BEPS) loops, explored by DKL.

The 50 × 50 grid of measured hysteresis loops (64 DC-bias steps, triangle 0 → 8.5 → −8.5 → 0 V)
comes from pycroscopy/DTMicroscope (MIT licence) and ships with autoscope.
``ReplaySample.from_beps()`` wraps it as a sample: the structural image is a PFM-like amplitude
and phase derived from the loops, ``measure`` returns the recorded loop. ``SimMicroscope`` makes
it an instrument, so the same plan that drives a microscope explores the recorded film: which
pixels have the largest loop area (most switchable polarization)? Every loop of the file is
known, so the report can score the run against the truth.

Run:  python examples/pbtio3_beps.py [REPORT_DIR]      (about 30 s on 2 CPU cores)
"""

from __future__ import annotations

import sys
from pathlib import Path

from bluesky import RunEngine

from autoscope import report, storage, trace
from autoscope.devices.sim import SimMicroscope
from autoscope.plans import dkl_explore
from autoscope.sim.replay import ReplaySample

LOOP_AREA = {"name": "loop_area", "params": {}}


def main(out: Path) -> dict:
    sample = ReplaySample.from_beps()  # the recorded PbTiO3 loops
    print(f"recorded grid {sample.image.shape[:2]}, {len(sample.axis)} bias steps "
          f"({sample.axis.min():.1f} to {sample.axis.max():.1f} {sample.axis_units}), "
          f"pixel {sample.pixel_size:.3g} {sample.pixel_units}")  # fmt: skip
    microscope = SimMicroscope(sample, seed=0)
    RE = RunEngine({}, call_returns_result=False)
    catalog = storage.open_catalog()  # $AUTOSCOPE_CATALOG or the default embedded catalog
    RE.subscribe(storage.make_writer(catalog))
    (uid,) = RE(dkl_explore(microscope, LOOP_AREA, "ei", budget=30, n_seed=6, patch_size=8,
                            seed=0))  # fmt: skip
    tr = trace.load(uid, catalog)
    summary = report.summarize(tr, sample)
    print(report.format_summary(summary))
    print("report:", report.make_report(tr, out, sample=sample))
    storage.close_catalog(catalog)
    return summary


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("autoscope-report") / "pbtio3-beps")
