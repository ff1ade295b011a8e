"""Faults at the instrument are survived and recorded: every spectrum stored, failed ones flagged.

A simulated instrument injects empty, short, NaN, inf and all-zero spectra and
failing or timing-out probe moves; the run goes on, every measurement is in the
catalog (padded to the declared shape, raw length kept), failed points carry
``point_fault`` and a NaN value, and the stop document is written.
"""

from __future__ import annotations

import numpy as np

from autoscope import plans, trace
from autoscope.devices.sim import SimMicroscope
from autoscope.storage import make_writer
from autoscope.testing import TinySample

CENTROID = {"name": "centroid", "params": {"low": 0.0, "high": 10.0}}
SPECTRUM = "microscope_spectrometer_spectrum"
FAULTS = {"nan": 0.08, "inf": 0.08, "empty": 0.08, "short": 0.08, "zero": 0.08,
          "move_fail": 0.15, "move_timeout": 0.05, "timeout_s": 0.01, "seed": 4}  # fmt: skip


def test_a_faulty_instrument_loses_nothing(RE, catalog, collector, fake_recommender):
    mic = SimMicroscope(TinySample(seed=0), seed=1, faults=FAULTS)
    RE.subscribe(make_writer(catalog))
    # no stop on consecutive failures here: every spectrum of the whole budget must be kept
    plan = plans.dkl_explore(mic, CENTROID, budget=40, n_seed=4, patch_size=8, seed=2,
                             max_failures=None)  # fmt: skip
    uid = RE(plan)[0]
    faults = collector.data("primary", "point_fault")
    assert len(faults) == 40 and 10 <= sum(bool(f) for f in faults) <= 30
    assert {"nonfinite", "empty", "short", "zero"} <= set(faults)
    assert collector.one("stop")["exit_status"] == "success"
    tr = trace.load(uid, catalog=catalog)
    assert tr.complete and tr.n_measured == 40 and tr.spectra.shape == (40, 64)
    assert tr.faults == faults
    failed = np.array([bool(f) for f in faults])
    assert np.isnan(tr.values[failed]).all() and np.isfinite(tr.values[~failed]).all()
    raw = np.asarray(collector.data("primary", "point_raw_length"))
    kinds = np.array(faults)
    assert (raw[kinds == "empty"] == 0).all() and np.isnan(tr.spectra[kinds == "empty"]).all()
    assert (raw[kinds == "short"] == 32).all()
    short = tr.spectra[kinds == "short"]
    assert np.isfinite(short[:, :32]).all() and np.isnan(short[:, 32:]).all()
    assert (raw[~failed] == 64).all()
    assert tr.failed_ids == [i for i, f in zip(tr.measured_ids, faults, strict=True) if f]
    (rec,) = fake_recommender.built
    assert sorted(int(p["_id"]) for p in rec.ingested) == sorted(np.array(tr.measured_ids)[~failed])
    assert len(set(tr.measured_ids)) == 40  # a failed candidate is never measured again


def test_moves_that_keep_failing_mark_the_point_failed(RE, catalog, collector, fake_recommender):
    mic = SimMicroscope(TinySample(seed=0), seed=1, faults={"move_fail": 1.0})
    RE.subscribe(make_writer(catalog))
    uid = RE(plans.dkl_explore(mic, CENTROID, budget=5, n_seed=2, patch_size=8, seed=2))[0]
    tr = trace.load(uid, catalog=catalog)
    assert tr.faults == ["move"] * 5 and np.isnan(tr.values).all()
    assert np.isnan(tr.spectra).all() and tr.spectra.shape == (5, 64)
    # five failed points in a row: the run ends as a detector failure, never "success"
    stop = collector.one("stop")
    assert stop["exit_status"] == "fail" and stop["reason"] == "detector"
