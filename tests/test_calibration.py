"""Tests of prequential variance calibration (autoscope._calibration) and its recommender option."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from autoscope._calibration import ForecastCalibration
from autoscope.errors import InputDataError
from autoscope.models import GPCoords
from autoscope.recommender import DKLRecommender

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
