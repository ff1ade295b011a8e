"""4D-STEM: map the in-plane field through the centre-of-mass shift of the diffraction disc.

At every probe position a pixelated detector records a convergent-beam diffraction pattern
(32 × 32 pixels, mrad); an electric field under the probe (polar domains, charged defects)
deflects the beam and shifts the disc's centre of mass. Recording a pattern everywhere is slow
and doses the sample, so DKL chooses where to record: the scalarizer ``com_magnitude`` is the
shift in mrad, proportional to the projected in-plane field. The report draws the patterns at the
best, a typical and the worst point with the detector centre and the centre of mass marked.

Run:  python examples/fourd_center_of_mass.py [REPORT_DIR]      (about 30 s on 2 CPU cores)
"""

from __future__ import annotations

import sys
from pathlib import Path

from bluesky import RunEngine

from autoscope import report, storage, trace
from autoscope.devices.sim import SimMicroscope
from autoscope.plans import dkl_explore
from autoscope.sim import make_sample

COM_SHIFT = {"name": "com_magnitude", "params": {}}


def main(out: Path) -> dict:
    sample = make_sample("fourd", shape=(40, 40), seed=0)
    microscope = SimMicroscope(sample, seed=0)  # HAADF image + 4D-STEM detector
    RE = RunEngine({}, call_returns_result=False)
    catalog = storage.open_catalog()  # $AUTOSCOPE_CATALOG or the default embedded catalog
    RE.subscribe(storage.make_writer(catalog))
    (uid,) = RE(dkl_explore(microscope, COM_SHIFT, "ei", budget=30, n_seed=6, patch_size=8,
                            seed=0))  # fmt: skip
    tr = trace.load(uid, catalog)
    print(f"{tr.n_measured} diffraction patterns of shape {tr.spectra.shape[1:]} recorded")
    summary = report.summarize(tr, sample)
    print(f"largest CoM shift measured: {summary['best_measured']:.2f} {sample.axis_units} "
          f"(true largest on the grid {summary['true_best']:.2f})")  # fmt: skip
    print("report:", report.make_report(tr, out, sample=sample))
    storage.close_catalog(catalog)
    return summary


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("autoscope-report") / "fourd-com")
