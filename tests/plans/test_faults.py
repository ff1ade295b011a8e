"""Faults never lose a spectrum; pause/resume, abort and stop leave a complete, valid trace."""

from __future__ import annotations

import threading

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
import numpy as np
import pytest
from bluesky.utils import RunEngineInterrupted

from autoscope import plans, scalarizers, trace
from autoscope.errors import ModelFittingError
from autoscope.storage import make_writer
from autoscope.testing import FakeRecommender

CENTROID = {"name": "centroid", "params": {"low": 0.0, "high": 10.0}}


def _nan_left_half(spectrum, axis, split=5.0):
    """Centroid of the spectrum, NaN when it lies below ``split`` eV (a failing scalarizer)."""
    c = float(np.sum(spectrum * axis) / np.sum(spectrum))
    return float("nan") if c < split else c


@pytest.fixture
def nan_scalarizer():
    scalarizers.register("test_nan_below", _nan_left_half, overwrite=True)
    return {"name": "test_nan_below", "params": {"split": 4.0}}


def _consistent(col, mic, spec):
    """Every primary value is the scalarizer of the spectrum saved with it (NaN-aware)."""
    f = scalarizers.from_spec(spec)
    spectra = np.asarray(col.data("primary", "microscope_spectrometer_spectrum"))
    expect = np.array([f(s, mic.sample.axis) for s in spectra])
    got = np.asarray(col.data("primary", "point_value"), dtype=float)
    return np.array_equal(got, expect, equal_nan=True)


def test_nan_values_are_recorded_and_never_measured_twice(
    RE, collector, tiny_mic, fake_recommender, nan_scalarizer
):
    plan = plans.dkl_explore(tiny_mic, nan_scalarizer, budget=30, n_seed=4, patch_size=8, seed=1)
    RE(plan)
    values = np.asarray(collector.data("primary", "point_value"), dtype=float)
    ids = collector.data("primary", "point_candidate_id")
    assert len(ids) == 30 and len(set(ids)) == 30
    assert 0 < np.isnan(values).sum() < 30  # some NaN (recorded, spectrum kept), some not
    assert _consistent(collector, tiny_mic, nan_scalarizer)
    (rec,) = fake_recommender.built
    assert len(rec.ingested) == int(np.isfinite(values).sum())  # NaN never reached the model
    assert collector.one("stop")["reason"] == "budget"


def test_nan_values_reach_the_dkl_recommender_and_the_run_goes_on(
    RE, collector, tiny_mic, nan_scalarizer
):
    model = {"name": "dkl", "params": {"n_iter": 10, "warm_iter": 3}}
    plan = plans.dkl_explore(tiny_mic, nan_scalarizer, budget=8, n_seed=4, patch_size=8,
                             seed=1, model=model, map_every=0)  # fmt: skip
    RE(plan)
    ids = collector.data("primary", "point_candidate_id")
    assert len(ids) == 8 and len(set(ids)) == 8
    assert _consistent(collector, tiny_mic, nan_scalarizer)


class _FailingRecommender(FakeRecommender):
    """Fails to fit at its 2nd and 3rd suggestion."""

    def suggest(self, batch_size=1):
        self.calls = getattr(self, "calls", 0) + 1
        if self.calls in (2, 3):
            raise ModelFittingError(f"Cholesky failed (call {self.calls})")
        return super().suggest(batch_size)


def test_model_fitting_errors_fall_back_and_are_recorded(RE, collector, tiny_mic, fake_recommender):
    fake_recommender.cls = _FailingRecommender
    RE(plans.dkl_explore(tiny_mic, CENTROID, budget=10, n_seed=3, patch_size=8, seed=2))
    ids = collector.data("primary", "point_candidate_id")
    assert len(ids) == 10 and len(set(ids)) == 10
    fallback = collector.data("decisions", "decision_fallback")
    reasons = collector.data("decisions", "decision_reason")
    assert fallback == [0, 1, 1, 0, 0, 0, 0, 0]
    assert reasons[1] == "ModelFittingError: Cholesky failed (call 2)"
    assert collector.data("decisions", "decision_chosen_id")[:-1] == ids[3:]
    assert collector.one("stop")["exit_status"] == "success"


def test_run_ends_when_every_candidate_is_measured(RE, collector, tiny_mic, fake_recommender):
    # patch 23 on 24 x 24: 2 x 2 = 4 candidates, budget 4
    RE(plans.dkl_explore(tiny_mic, CENTROID, budget=4, n_seed=1, patch_size=23, seed=0))
    assert sorted(collector.data("primary", "point_candidate_id")) == [0, 1, 2, 3]
    assert collector.one("stop")["reason"] == "budget"
    assert collector.data("decisions", "decision_chosen_id") == [
        *collector.data("primary", "point_candidate_id")[1:],
        -1,
    ]


def test_map_cadence_fills_skipped_steps_with_nan(RE, collector, tiny_mic, fake_recommender):
    RE(plans.dkl_explore(tiny_mic, CENTROID, budget=8, n_seed=2, patch_size=8, seed=0,
                         map_every=3))  # fmt: skip
    maps = np.asarray(collector.data("decisions", "decision_std_map"))
    assert maps.shape == (7, 289)
    assert [bool(np.isfinite(m).all()) for m in maps] == [
        True,
        False,
        False,
        True,
        False,
        False,
        True,
    ]
    assert np.isnan(maps[[1, 2, 4, 5]]).all()


# -- pause / resume / abort ------------------------------------------------------------------
def _pause_after(plan, n):
    """Insert a ``pause`` message right after the ``n``-th message of ``plan``."""
    count = {"n": 0}

    def insert(msg):
        count["n"] += 1
        return None, (bps.pause() if count["n"] == n else None)

    return bpp.plan_mutator(plan, insert)


def _check_complete(col, mic, budget, n_seed):
    prim = col.events("primary")
    assert [e["seq_num"] for e in prim] == list(range(1, budget + 1))
    assert col.data("primary", "point_step") == list(range(budget))
    assert len(set(col.data("primary", "point_candidate_id"))) == budget
    assert col.data("primary", "point_row") == col.data("primary", "microscope_spectrometer_row")
    assert _consistent(col, mic, CENTROID)
    dec = col.events("decisions")
    assert [e["seq_num"] for e in dec] == list(range(1, budget - n_seed + 2))
    assert len(col.events("structure")) == 1
    assert col.one("stop")["exit_status"] == "success"


@pytest.mark.parametrize("n", [8, 11, 13, 14, 16, 17, 18, 19, 20, 21, 22, 27, 33, 40, 60])
def test_pause_anywhere_then_resume_gives_a_complete_trace(
    RE, collector, tiny_mic, fake_recommender, n
):
    """A pause after any message (move, trigger, read, save, decision) loses and repeats nothing."""
    plan = plans.dkl_explore(tiny_mic, CENTROID, budget=8, n_seed=3, patch_size=8, seed=3)
    with pytest.raises(RunEngineInterrupted):
        RE(_pause_after(plan, n))
    assert RE.state == "paused"
    RE.resume()
    _check_complete(collector, tiny_mic, 8, 3)


def test_pause_from_a_callback_then_resume(RE, catalog, collector, tiny_mic, fake_recommender,
                                           trace_matches):  # fmt: skip
    """RE.request_pause() from a callback (on its own thread: callbacks run in the RunEngine's)."""
    RE.subscribe(make_writer(catalog))
    tiny_mic.spectrometer.dwell.put(0.02)  # so that the pause lands inside acquisitions too
    seen = {"n": 0}

    def pause_at_fifth(name, doc):
        if name == "event" and "point_value" in doc["data"]:
            seen["n"] += 1
            if seen["n"] == 5:
                threading.Thread(target=RE.request_pause).start()

    RE.subscribe(pause_at_fifth)
    with pytest.raises(RunEngineInterrupted):
        RE(plans.dkl_explore(tiny_mic, CENTROID, budget=10, n_seed=3, patch_size=8, seed=4))
    assert RE.state == "paused"
    RE.resume()
    _check_complete(collector, tiny_mic, 10, 3)
    tr = trace.load(collector.one("start")["uid"], catalog)
    trace_matches(tr, collector)


@pytest.mark.parametrize("how", ["abort", "stop", "halt"])
def test_abort_stop_halt_leave_a_valid_partial_trace(
    RE, catalog, collector, tiny_mic, fake_recommender, trace_matches, how
):
    from event_model import DocumentNames, schema_validators

    RE.subscribe(make_writer(catalog))
    plan = _pause_after(plans.dkl_explore(tiny_mic, CENTROID, budget=10, n_seed=3, patch_size=8,
                                          seed=4), 100)  # fmt: skip
    with pytest.raises(RunEngineInterrupted):
        RE(plan)
    n_done = len(collector.events("primary"))
    assert 3 < n_done < 10
    getattr(RE, how)()
    stop = collector.one("stop")
    assert stop["exit_status"] == {"abort": "abort", "stop": "success", "halt": "abort"}[how]
    for name, doc in collector.docs:
        schema_validators[DocumentNames[name]].validate(doc)
    tr = trace.load(stop["run_start"], catalog)
    trace_matches(tr, collector)
    assert tr.n_measured == n_done and tr.stop["exit_status"] == stop["exit_status"]
    assert _consistent(collector, tiny_mic, CENTROID)
