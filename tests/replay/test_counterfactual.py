"""Counterfactual replay of a stored run: exact with the run's own specs, correct with others."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from autoscope import scalarizers
from autoscope.errors import InputDataError
from autoscope.recommender import DKLRecommender
from autoscope.replay import CounterfactualResult, counterfactual

BAND_MAX = {"name": "band_max", "params": {"low": 0.0, "high": 10.0}}


def test_trace_is_a_dkl_run(tiny_trace):
    tr = tiny_trace
    assert tr.n_measured == 12 and len(tr.chosen_ids) == 8
    assert tr.phases[:4] == ["seed"] * 4 and set(tr.phases[4:]) == {"dkl"}
    assert tr.chosen_ids == tr.measured_ids[4:]


def test_own_specs_reproduce_the_run_exactly(tiny_trace):
    tr = tiny_trace
    cf = counterfactual(tr)
    assert isinstance(cf, CounterfactualResult) and cf.own
    assert cf.chosen_ids == tr.chosen_ids
    assert cf.agreement == 1.0 and cf.first_divergence is None
    assert cf.actual_rank.tolist() == [0] * 8
    stored = [d for d in tr.decisions if d["chosen_id"] >= 0]
    np.testing.assert_array_equal(cf.acq_values, [d["acq_value"] for d in stored])
    np.testing.assert_array_equal(cf.pred_mean, [d["pred_mean"] for d in stored])
    np.testing.assert_array_equal(cf.pred_std, [d["pred_std"] for d in stored])
    # the stored maps are the replayed ones (the run recorded them every decision)
    np.testing.assert_array_equal(cf.mean_maps, tr.maps["mean"][: cf.n_decisions])
    np.testing.assert_array_equal(cf.std_maps, tr.maps["std"][: cf.n_decisions])
    # the stored acquisition map is the one the choice maximised (taken before the suggestion)
    np.testing.assert_array_equal(cf.acquisition_maps, tr.maps["acquisition"][: cf.n_decisions])
    np.testing.assert_array_equal(cf.values, tr.values)
    assert cf.scalarizer == tr.specs["scalarizer"] and cf.policy == tr.specs["policy"]


def test_replay_is_deterministic(tiny_trace):
    a = counterfactual(tiny_trace, policy="ucb")
    b = counterfactual(tiny_trace, policy="ucb")
    assert a.chosen_ids == b.chosen_ids
    np.testing.assert_array_equal(a.acq_values, b.acq_values)
    np.testing.assert_array_equal(a.actual_rank, b.actual_rank)


def test_other_scalarizer_recomputes_values_from_spectra(tiny_trace):
    tr = tiny_trace
    cf = counterfactual(tr, scalarizer=BAND_MAX)
    f = scalarizers.from_spec(BAND_MAX)
    expected = [f(s, tr.axis) for s in tr.spectra]
    np.testing.assert_array_equal(cf.values, expected)
    np.testing.assert_array_equal(cf.original_values, tr.values)
    assert len(cf.chosen_ids) == len(tr.chosen_ids) and not cf.own
    assert cf.scalarizer == f.spec
    assert cf.steps.tolist() == list(range(4, 12))
    assert cf.actual_ids.tolist() == tr.chosen_ids
    n_cand = len(tr.candidates)
    # nothing is pending between decisions: every unmeasured candidate is available
    assert cf.n_available.tolist() == [n_cand - s for s in range(4, 12)]
    assert all(0 <= r < n for r, n in zip(cf.actual_rank, cf.n_available, strict=True))
    for t, c in enumerate(cf.chosen_ids):  # the choice is never an already measured point
        assert c not in tr.measured_ids[: cf.steps[t]]


def test_first_counterfactual_choice_matches_a_fresh_recommender(tiny_trace):
    tr = tiny_trace
    cf = counterfactual(tr, scalarizer=BAND_MAX)
    rec = DKLRecommender(tr.image, **tr.specs["recommender"])
    for i in range(4):
        rec.ingest([{"_id": tr.measured_ids[i], "value": cf.values[i]}])
    assert rec.suggest(1)[0]["_id"] == cf.chosen_ids[0]


def test_maxvar_policy_chooses_the_most_uncertain_available_point(tiny_trace):
    tr = tiny_trace
    cf = counterfactual(tr, policy="maxvar", map_every=1)
    assert cf.policy["name"] == "maxvar" and cf.map_steps.tolist() == list(range(8))
    for t, c in enumerate(cf.chosen_ids):
        std = cf.std_maps[t].copy()
        std[tr.measured_ids[: cf.steps[t]]] = -np.inf
        assert std[c] == pytest.approx(std.max(), rel=1e-9)
        # the acquisition map is NaN exactly at the measured points
        assert np.isnan(cf.acquisition_maps[t]).sum() == cf.steps[t]


def test_result_helpers(tiny_trace):
    cf = counterfactual(tiny_trace, scalarizer=BAND_MAX, map_every=0)
    assert cf.mean_maps.shape == (0, len(tiny_trace.candidates))
    px = cf.chosen_pixels()
    assert px.shape == (8, 2)
    np.testing.assert_array_equal(px, tiny_trace.candidates[cf.chosen_ids])
    d = cf.distance()
    assert d.shape == (8,) and np.all(d[cf.agrees] == 0) and np.all(d[~cf.agrees] > 0)
    s = cf.summary()
    assert s["n_decisions"] == 8 and s["agreement"] == pytest.approx(cf.agrees.mean())
    ds = cf.to_xarray()
    assert ds.sizes["decision"] == 8 and ds["chosen_id"].values.tolist() == cf.chosen_ids
    fig = cf.figure()
    assert len(fig.axes) >= 4


def test_not_a_dkl_run_raises(tiny_trace):
    specs = {k: v for k, v in tiny_trace.specs.items() if k != "recommender"}
    baseline = dataclasses.replace(tiny_trace, specs=specs)
    with pytest.raises(InputDataError, match="no recommender configuration"):
        counterfactual(baseline)
    with pytest.raises(InputDataError, match="expected an ExperimentTrace"):
        counterfactual({"uid": "x"})


def test_bad_specs_raise(tiny_trace):
    with pytest.raises(ValueError, match="nope"):
        counterfactual(tiny_trace, scalarizer="nope")
    with pytest.raises(ValueError, match="nope"):
        counterfactual(tiny_trace, policy="nope")
    with pytest.raises(InputDataError, match="map_every"):
        counterfactual(tiny_trace, map_every=-1)


def test_inconsistent_trace_raises(tiny_trace):
    ids = list(tiny_trace.measured_ids)
    ids[5], ids[6] = ids[6], ids[5]
    broken = dataclasses.replace(tiny_trace, measured_ids=ids)
    with pytest.raises(InputDataError, match="inconsistent"):
        counterfactual(broken)


def _peak_if_low(spectrum, axis, limit=5.0):
    """Peak energy, undefined (NaN) above ``limit``: a scalarizer that fails on some spectra."""
    e = float(axis[int(np.argmax(spectrum))])
    return e if e < limit else float("nan")


def test_counterfactual_scalarizer_with_undefined_values(tiny_trace):
    scalarizers.register("replay_test_peak_if_low", _peak_if_low, overwrite=True)
    spec = {"name": "replay_test_peak_if_low", "params": {"limit": 6.0}}
    cf = counterfactual(tiny_trace, scalarizer=spec)
    nan = np.isnan(cf.values)
    assert nan.any() and not nan.all()  # the blob's peak shifts above 6 eV in its centre
    np.testing.assert_array_equal(
        ~nan, tiny_trace.spectra.argmax(axis=1) < np.searchsorted(tiny_trace.axis, 6.0)
    )
    assert len(cf.chosen_ids) == 8
    for t, c in enumerate(cf.chosen_ids):  # NaN points count as measured: never chosen again
        assert c is None or c not in tiny_trace.measured_ids[: cf.steps[t]]
    assert cf.n_available.tolist() == [len(tiny_trace.candidates) - s for s in range(4, 12)]
