"""Prequential variance calibration (autoscope.recommender.calibration) and its option."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from autoscope.errors import InputDataError
from autoscope.models import GPCoords
from autoscope.recommender import DKLRecommender
from autoscope.recommender.calibration import ForecastCalibration

FAST_DKL = {"name": "dkl", "params": {"n_iter": 25, "warm_iter": 5}}


def test_factor_is_the_windowed_mean_square_z_floored_at_one():
    cal = ForecastCalibration("prequential", window=3, min_forecasts=2)
    for i, (mu, v) in enumerate([(0.0, 1.0), (1.0, 4.0), (0.0, 0.25), (5.0, 1.0)]):
        cal.forecast(i, mean=mu, variance=v)
    cal.observe(np.array([0]), np.array([3.0]))
    assert cal.factor == 1.0  # one scored forecast < min_forecasts
    cal.observe(np.array([7, 1, 2]), np.array([9.0, 3.0, 0.5]))  # id 7 had no forecast
    assert cal.z2 == [9.0, 1.0, 1.0]
    assert cal.factor == pytest.approx(11.0 / 3.0)
    cal.observe(np.array([3, 0]), np.array([5.0, 100.0]))  # id 0 was scored already
    assert cal.z2 == [9.0, 1.0, 1.0, 0.0]
    assert cal.factor == 1.0  # mean of the last 3 is 2/3: never narrowed
    cal.reset()
    assert cal.z2 == [] and cal.factor == 1.0
    off = ForecastCalibration("none", min_forecasts=1)
    off.forecast(0, mean=0.0, variance=1.0)
    off.observe(np.array([0]), np.array([10.0]))
    assert off.z2 == [100.0] and off.factor == 1.0  # scored, never applied
    with pytest.raises(InputDataError, match="calibration must be one of"):
        ForecastCalibration("isotonic")


def test_apply_scales_every_variance_but_not_the_mean():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 20, size=(40, 2))
    model = GPCoords(seed=0)
    model.fit(xy[:15], np.sin(xy[:15, 0] / 3.0))
    post = model.posterior(xy)
    cal = ForecastCalibration("prequential", window=5, min_forecasts=1)
    cal.forecast(0, mean=0.0, variance=1.0)
    cal.observe(np.array([0]), np.array([2.0]))
    scaled = cal.apply(post)
    assert cal.factor == 4.0
    np.testing.assert_array_equal(scaled.mean, post.mean)
    np.testing.assert_allclose(scaled.var, 4.0 * post.var)
    assert scaled.noise == pytest.approx(4.0 * post.noise)
    np.testing.assert_allclose(scaled.cross_cov([1, 2]), 4.0 * post.cross_cov([1, 2]), rtol=1e-6)
    draws = scaled.joint_sample([20, 30], np.random.default_rng(1), 4000) - post.mean[[20, 30]]
    assert np.var(draws, axis=0) == pytest.approx(4.0 * post.var[[20, 30]], rel=0.1)


def _run(image, truth, calibration, steps=8):
    rec = DKLRecommender(image, 8, "ei", seed=0, model=FAST_DKL, calibration=calibration)
    first = np.random.default_rng(1).choice(len(truth), 10, replace=False)
    rec.ingest([{"_id": int(i), "value": float(truth[i])} for i in first])
    for _ in range(steps):
        (pt,) = rec.suggest(1)
        rec.ingest([{"_id": pt["_id"], "value": float(truth[pt["_id"]])}])
    return rec


def test_recommender_widens_an_overconfident_model_and_records_it():
    rng = np.random.default_rng(0)
    image = gaussian_filter(rng.normal(size=(32, 32)), 1.5)
    truth = rng.normal(size=25 * 25)  # white noise: no model can forecast it
    plain = _run(image, truth, "none")
    calibrated = _run(image, truth, "prequential")
    assert plain.last_decision["variance_factor"] == 1.0
    raw = calibrated._ensure_model().posterior  # scores the last forecast, refits
    factor = calibrated._calibration.factor
    assert factor > 1.0 and len(calibrated._calibration.z2) == 8
    assert calibrated.config["calibration"] == "prequential"
    mean, var = calibrated.predict()
    np.testing.assert_allclose(mean, raw.mean)
    np.testing.assert_allclose(var, factor * raw.var)
    calibrated.replace_values(np.zeros(len(calibrated._data.ids)))
    assert calibrated._calibration.factor == 1.0  # new targets: the record starts afresh
    with pytest.raises(InputDataError, match="calibration"):
        DKLRecommender(image, 8, calibration="yes")


def test_reported_is_the_default_and_leaves_decisions_alone():
    rng = np.random.default_rng(0)
    image = gaussian_filter(rng.normal(size=(32, 32)), 1.5)
    truth = rng.normal(size=25 * 25)
    plain = _run(image, truth, "none")
    reported = _run(image, truth, "reported")
    assert DKLRecommender(image, 8).config["calibration"] == "reported"
    assert reported._data.ids == plain._data.ids  # the policy saw the same posterior
    raw = reported._ensure_model().posterior
    factor = reported._calibration.factor
    assert factor > 2.0 and reported.last_decision["variance_factor"] > 1.0
    mean, var = reported.predict()
    np.testing.assert_allclose(mean, raw.mean)
    np.testing.assert_allclose(var, factor * raw.var)
    # the acquisition is the uncalibrated one: identical scores
    np.testing.assert_allclose(reported.acquisition(), plain.acquisition(), equal_nan=True)


def test_uncertainty_stop_reads_the_calibrated_std():
    rng = np.random.default_rng(0)
    image = gaussian_filter(rng.normal(size=(32, 32)), 1.5)
    truth = rng.normal(size=25 * 25)
    rec = _run(image, truth, "reported")
    raw_max = float(np.sqrt(rec._ensure_model().posterior.var.max()))
    cal_max = float(np.sqrt(rec.predict()[1].max()))
    assert cal_max > raw_max
    # a threshold between the two: the raw model would stop, the honest one does not
    rec._stop = type(rec._stop)({"std_below": 0.5 * (raw_max + cal_max)})
    assert rec.should_stop() is None
    rec._stop = type(rec._stop)({"std_below": 1.01 * cal_max})
    assert rec.should_stop() == "uncertainty"


def test_replay_rebuilds_a_run_that_stored_no_calibration_as_uncalibrated():
    from types import SimpleNamespace

    from autoscope.replay._common import build_recommender

    image = gaussian_filter(np.random.default_rng(0).normal(size=(32, 32)), 1.5)
    trace = SimpleNamespace(image=image, candidates=DKLRecommender(image, 8).candidates)
    old = build_recommender(trace, {"patch_size": 8, "policy": "ei", "seed": 0})
    new = build_recommender(trace, {"patch_size": 8, "seed": 0, "calibration": "reported"})
    assert old.config["calibration"] == "none" and new.config["calibration"] == "reported"
