"""dkl_explore under a real RunEngine with the real DKL recommender, stored and read back."""

from __future__ import annotations

import json

import numpy as np
import pytest

from autoscope import plans, scalarizers, trace
from autoscope.features import candidate_grid

CENTROID = {"name": "centroid", "params": {"low": 0.0, "high": 10.0}}
FAST_DKL = {"name": "dkl", "params": {"n_iter": 20, "warm_iter": 5}}


@pytest.fixture(scope="module")
def tiny(module_catalog, runner):
    """One 12-point EI run (4 seeds) on the 24 x 24 TinySample, patches 8 x 8, stored."""
    from autoscope.devices.sim import SimMicroscope
    from autoscope.testing import TinySample

    mic = SimMicroscope(TinySample(seed=0), seed=1)
    plan = plans.dkl_explore(mic, CENTROID, "ei", budget=12, n_seed=4, patch_size=8, seed=3,
                             model=FAST_DKL)  # fmt: skip
    uid, col = runner(plan, module_catalog)
    return uid, trace.load(uid, module_catalog), col, mic


@pytest.fixture
def tiny_run(tiny):
    return tiny[0], tiny[1]


@pytest.fixture
def collector(tiny):
    return tiny[2]


@pytest.fixture
def tiny_mic(tiny):
    return tiny[3]


def test_stored_trace_equals_what_the_plan_emitted(tiny_run, collector, trace_matches):
    uid, tr = tiny_run
    trace_matches(tr, collector)
    assert collector.one("start")["uid"] == uid


def test_run_measures_budget_distinct_points_seeds_first(tiny_run, collector, tiny_mic):
    _, tr = tiny_run
    assert tr.n_measured == 12 and len(set(tr.measured_ids)) == 12
    assert tr.phases == ["seed"] * 4 + ["dkl"] * 8
    assert tr.steps.tolist() == list(range(12))
    assert tr.measured_ids[:4] == tr.specs["seed_ids"]
    # the pixel of every id is its candidate, and the probe sat on it (pixel size 0.5 nm)
    np.testing.assert_array_equal(tr.candidates, candidate_grid((24, 24), 8))
    np.testing.assert_array_equal(tr.candidates[tr.measured_ids], np.c_[tr.rows, tr.cols])
    np.testing.assert_allclose(tr.positions, np.c_[tr.cols, tr.rows] * 0.5)
    # the detector measured where the plan said
    assert collector.data("primary", "microscope_spectrometer_row") == tr.rows.tolist()


def test_values_are_the_scalarizer_of_the_stored_spectra(tiny_run, tiny_mic):
    _, tr = tiny_run
    f = scalarizers.from_spec(CENTROID)
    np.testing.assert_allclose(tr.values, f.apply(tr.spectra, tr.axis), rtol=0, atol=1e-12)
    # centroid of the noisy spectrum = the peak energy E0(row, col) within the noise
    exact = tiny_mic.sample.peak_position()[tr.rows, tr.cols]
    np.testing.assert_allclose(tr.values, exact, atol=0.1)
    np.testing.assert_allclose(tr.image, tiny_mic.sample.image)


def test_decisions_record_the_model_choices(tiny_run):
    _, tr = tiny_run
    assert len(tr.decisions) == 9  # 8 choices + the final record
    assert tr.chosen_ids == tr.measured_ids[4:]
    assert [d["step"] for d in tr.decisions] == list(range(4, 13))
    final = tr.decisions[-1]
    assert final["chosen_id"] == -1 and final["reason"] == "budget"
    assert tr.stop["exit_status"] == "success" and tr.stop["reason"] == "budget"
    for d in tr.decisions[:-1]:
        assert d["fallback"] == 0 and d["reason"] == ""
        assert np.isfinite(d["acq_value"]) and d["pred_std"] > 0 and np.isfinite(d["train_loss"])
        assert d["n_iter"] in (5, 20) and d["model_version"] >= 1
        assert all(d[t] >= 0 for t in ("t_ingest", "t_train", "t_predict", "t_acquire"))
        assert d["t_total"] >= d["t_train"]
    versions = [d["model_version"] for d in tr.decisions[:-1]]
    assert versions == sorted(versions) and len(set(versions)) == 8  # retrained every step


def test_maps_are_recorded_every_step_and_match_the_decision(tiny_run):
    _, tr = tiny_run
    n = len(tr.candidates)
    assert {k: v.shape for k, v in tr.maps.items()} == {k: (9, n) for k in tr.maps}
    assert np.isfinite(tr.maps["mean"]).all() and (tr.maps["std"] > 0).all()
    for k, d in enumerate(tr.decisions[:-1]):
        acq = tr.maps["acquisition"][k]
        # the chosen candidate maximises the recorded acquisition map, measured ones are NaN
        assert np.nanargmax(acq) == d["chosen_id"]
        assert np.isnan(acq[tr.measured_ids[: 4 + k]]).all()
        np.testing.assert_allclose(tr.maps["mean"][k, d["chosen_id"]], d["pred_mean"], rtol=1e-6)
        # the map is the reported (calibrated) std, the decision the one the policy saw
        reported = d["pred_std"] * np.sqrt(d["variance_factor"])
        np.testing.assert_allclose(tr.maps["std"][k, d["chosen_id"]], reported, rtol=1e-5)


def test_start_document_rebuilds_the_recommender(tiny_run):
    """The start document and the structure stream alone rebuild the run's recommender."""
    from autoscope.recommender import DKLRecommender

    _, tr = tiny_run
    assert tr.specs["recommender"] == {
        "patch_size": 8, "stride": 1, "policy": {"name": "ei", "params": {"maximize": True}},
        "seed": 3, "model": FAST_DKL, "calibration": "reported",
    }  # fmt: skip
    rec = DKLRecommender(tr.image, **tr.specs["recommender"])
    np.testing.assert_array_equal(rec.candidates, tr.candidates)
    assert tr.recommender_config["seed"] == 3
    assert tr.recommender_config["model"]["params"]["seed"] == 3  # the run's seed reached the model
    assert json.loads(json.dumps(tr.specs)) == tr.specs
    assert tr.specs["version"] and tr.specs["instrument"]["sample"]["seed"] == 0


@pytest.mark.slow
def test_same_seed_same_choices(runner):
    """Two runs with one seed (and one instrument noise seed) choose the same points."""
    from autoscope.devices.sim import SimMicroscope
    from autoscope.testing import TinySample

    ids = []
    for _ in range(2):
        mic = SimMicroscope(TinySample(seed=0), seed=1)
        plan = plans.dkl_explore(mic, CENTROID, budget=7, n_seed=3, patch_size=8, seed=5,
                                 model=FAST_DKL)  # fmt: skip
        ids.append(runner(plan)[1].data("primary", "point_candidate_id"))
    assert ids[0] == ids[1]


def test_documents_validate_against_event_model(collector):
    from event_model import DocumentNames, schema_validators

    names = [n for n, _ in collector.docs]
    assert names[0] == "start" and names[-1] == "stop"
    assert names.count("descriptor") == 3 and names.count("event") == 1 + 12 + 9
    for name, doc in collector.docs:
        schema_validators[DocumentNames[name]].validate(doc)


def test_stopping_criterion_ends_the_run(runner):
    from autoscope.devices.sim import SimMicroscope
    from autoscope.testing import TinySample

    mic = SimMicroscope(TinySample(seed=0), seed=1)
    plan = plans.dkl_explore(mic, CENTROID, budget=20, n_seed=2, patch_size=8, seed=0,
                             model=FAST_DKL, stop={"budget": 4}, map_every=0)  # fmt: skip
    _, col = runner(plan)
    assert len(col.events("primary")) == 4
    stop = col.one("stop")
    assert stop["exit_status"] == "success" and stop["reason"] == "stopping criterion: budget"
    assert col.data("decisions", "decision_reason")[-1] == stop["reason"]


def test_calibrated_spatial_run_records_its_factors_and_replays(module_catalog, runner):
    from autoscope.devices.sim import SimMicroscope
    from autoscope.replay import counterfactual
    from autoscope.testing import TinySample

    mic = SimMicroscope(TinySample(seed=0), seed=1)
    model = {"name": "spatial_dkl", "params": {"n_iter": 20, "warm_iter": 5}}
    plan = plans.dkl_explore(mic, CENTROID, "ei", budget=14, n_seed=4, patch_size=8, seed=3,
                             model=model, calibration="prequential")  # fmt: skip
    uid, _ = runner(plan, module_catalog)
    tr = trace.load(uid, module_catalog)
    assert tr.specs["recommender"]["calibration"] == "prequential"
    made = tr.decisions[:-1]
    factors = [d["variance_factor"] for d in made]
    assert all(f >= 1.0 for f in factors) and factors[0] == 1.0  # < 5 forecasts scored yet
    assert all(0.0 <= d["structure_share"] <= 1.0 for d in made)
    assert counterfactual(tr).chosen_ids == tr.chosen_ids  # the run's own specs reproduce it
    with pytest.raises(ValueError, match="calibration must be one of"):
        plans.dkl_explore(mic, CENTROID, budget=5, calibration="on")


def test_ensemble_model_runs_is_stored_and_replays(module_catalog, runner):
    from autoscope.devices.sim import SimMicroscope
    from autoscope.replay import counterfactual
    from autoscope.testing import TinySample

    mic = SimMicroscope(TinySample(seed=0), seed=1)
    base = {"name": "spatial_dkl", "params": {"n_iter": 20, "warm_iter": 5}}
    model = {"name": "ensemble", "params": {"base": base, "members": 2}}
    plan = plans.dkl_explore(mic, CENTROID, "ei", budget=10, n_seed=4, patch_size=8, seed=3,
                             model=model, calibration="prequential")  # fmt: skip
    uid, _ = runner(plan, module_catalog)
    tr = trace.load(uid, module_catalog)
    assert tr.specs["recommender"]["model"] == model  # as given; the run's seed seeds it
    assert tr.phases == ["seed"] * 4 + ["dkl"] * 6
    assert all(np.isfinite(d["pred_std"]).all() for d in tr.decisions[:-1] if d.get("pred_std"))
    assert counterfactual(tr).chosen_ids == tr.chosen_ids
