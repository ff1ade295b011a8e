"""dkl_explore on a failing detector: failed points kept, K in a row end the run as a failure."""

from __future__ import annotations

import numpy as np
import pytest

from autoscope import plans, scalarizers, trace
from autoscope.errors import InputDataError
from autoscope.storage import make_writer

CENTROID = {"name": "centroid", "params": {"low": 0.0, "high": 10.0}}


def _dead(spectrum, axis):
    """A scalarizer of a dead detector: never a number."""
    return float("nan")


def _dead_after(spectrum, axis, step_limit=4):
    """Finite for the first calls, then NaN: a detector that dies mid-run."""
    _dead_after.calls = getattr(_dead_after, "calls", 0) + 1
    return float(np.sum(spectrum)) if _dead_after.calls <= step_limit else float("nan")


@pytest.fixture
def dead():
    scalarizers.register("test_dead_detector", _dead, overwrite=True)
    return {"name": "test_dead_detector", "params": {}}


def test_dead_detector_stops_as_a_failure_and_keeps_every_spectrum(
    RE, collector, tiny_mic, fake_recommender, dead
):
    plan = plans.dkl_explore(tiny_mic, dead, budget=20, n_seed=6, patch_size=8, seed=0,
                             max_failures=3)  # fmt: skip
    RE(plan)
    stop = collector.one("stop")
    assert stop["exit_status"] == "fail" and stop["reason"] == "detector"
    spectra = collector.data("primary", "microscope_spectrometer_spectrum")
    values = collector.data("primary", "point_value")
    assert len(spectra) == 3 and np.isnan(values).all()  # stored, flagged by NaN
    assert collector.data("decisions", "decision_reason") == ["detector"]
    (rec,) = fake_recommender.built
    assert rec.ingested == []  # never trained on
    assert collector.one("start")["autoscope"]["max_failures"] == 3


def test_detector_dying_mid_run_stops_after_k_failures(RE, collector, tiny_mic, fake_recommender):
    _dead_after.calls = 0
    scalarizers.register("test_dead_after", _dead_after, overwrite=True)
    spec = {"name": "test_dead_after", "params": {}}
    RE(plans.dkl_explore(tiny_mic, spec, budget=30, n_seed=2, patch_size=8, seed=0))
    values = np.asarray(collector.data("primary", "point_value"), dtype=float)
    assert len(values) == 4 + 5  # the default max_failures is 5
    assert np.isfinite(values[:4]).all() and np.isnan(values[4:]).all()
    assert collector.one("stop")["exit_status"] == "fail"
    decisions = collector.data("decisions", "decision_chosen_id")
    assert decisions[-1] == -1 and len(decisions) == 9 - 2 + 1


def test_max_failures_none_spends_the_budget(RE, collector, tiny_mic, fake_recommender, dead):
    RE(plans.dkl_explore(tiny_mic, dead, budget=8, n_seed=2, patch_size=8, seed=0,
                         max_failures=None))  # fmt: skip
    stop = collector.one("stop")
    assert stop["exit_status"] == "success" and stop["reason"] == "budget"
    ids = collector.data("primary", "point_candidate_id")
    assert len(ids) == 8 == len(set(ids))


@pytest.mark.parametrize("bad", [0, -1, 2.5, "5", True])
def test_bad_max_failures_is_refused_when_the_plan_is_built(tiny_mic, bad):
    with pytest.raises(InputDataError, match="max_failures must be"):
        plans.dkl_explore(tiny_mic, CENTROID, budget=8, patch_size=8, max_failures=bad)


def test_a_failed_run_loads_and_says_why(RE, tiny_mic, fake_recommender, dead, module_catalog):
    RE.subscribe(make_writer(module_catalog))
    (uid,) = RE(plans.dkl_explore(tiny_mic, dead, budget=10, n_seed=4, patch_size=8, seed=0,
                                  max_failures=2))  # fmt: skip
    tr = trace.load(uid, module_catalog)
    assert tr.stop["exit_status"] == "fail" and tr.stop["reason"] == "detector"
    assert tr.n_measured == 2 and np.isnan(tr.values).all() and len(tr.spectra) == 2
