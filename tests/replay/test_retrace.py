"""Retrace: the run's steps seen by its fully trained model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from autoscope.errors import InputDataError
from autoscope.replay import RetraceResult, counterfactual, retrace
from autoscope.replay.retrace import acquisition_terms, final_recommender


@pytest.fixture(scope="module")
def retraced(tiny_trace):
    return retrace(tiny_trace)


def test_shapes_and_stored_predictions(tiny_trace, retraced):
    tr, rt = tiny_trace, retraced
    assert isinstance(rt, RetraceResult)
    assert rt.steps.tolist() == list(range(4, 12)) and rt.ids.tolist() == tr.chosen_ids
    for name in ("values", "mean_then", "std_then", "mean_final", "std_final", "surprise",
                 "exploitation", "exploration", "best_before", "map_change"):  # fmt: skip
        assert getattr(rt, name).shape == (8,), name
    stored = [d for d in tr.decisions if d["chosen_id"] >= 0]
    np.testing.assert_array_equal(rt.mean_then, [d["pred_mean"] for d in stored])
    np.testing.assert_array_equal(rt.std_then, [d["pred_std"] for d in stored])
    np.testing.assert_array_equal(rt.values, tr.values[4:])
    np.testing.assert_allclose(rt.surprise, np.abs(rt.values - rt.mean_then) / rt.std_then)
    assert rt.final_mean.shape == (len(tr.candidates),)
    assert rt.best_before[0] == np.max(tr.values[:4])
    assert rt.best_before[-1] == np.max(tr.values[:11])


def test_final_model_is_trained_on_every_point(tiny_trace, retraced):
    rec = final_recommender(tiny_trace)
    assert rec.measured_ids == tiny_trace.measured_ids
    mean, var = rec.predict()
    np.testing.assert_allclose(retraced.final_mean, mean)
    np.testing.assert_allclose(retraced.mean_final, mean[tiny_trace.chosen_ids])
    # the fully trained model is closer to what was measured than the model then
    err_then = np.abs(retraced.values - retraced.mean_then).mean()
    err_final = np.abs(retraced.values - retraced.mean_final).mean()
    assert err_final < err_then


def test_ei_terms_add_up_to_the_stored_acquisition(tiny_trace, retraced):
    stored = np.asarray([d["acq_value"] for d in tiny_trace.decisions if d["chosen_id"] >= 0])
    np.testing.assert_allclose(
        retraced.exploitation + retraced.exploration, stored, rtol=1e-4, atol=1e-12
    )
    assert np.all(retraced.exploration > 0)


def test_map_change_from_stored_maps(tiny_trace, retraced):
    m = tiny_trace.maps["mean"]
    expected = [np.sqrt(np.mean((m[t + 1] - m[t]) ** 2)) for t in range(8)]
    np.testing.assert_allclose(retraced.map_change, expected)
    top = retraced.most_changed(3)
    assert top == list(np.argsort(-np.asarray(expected), kind="stable")[:3])
    assert retraced.most_surprising(1) == [int(np.argmax(retraced.surprise))]
    no_maps = retrace(dataclasses.replace(tiny_trace, maps=None))
    assert no_maps.map_change is None and no_maps.most_changed() == []


def test_recommender_from_an_own_replay(tiny_trace, retraced):
    cf = counterfactual(tiny_trace)
    rt = retrace(tiny_trace, recommender=cf.recommender)
    assert rt.final_mean.shape == retraced.final_mean.shape
    np.testing.assert_array_equal(rt.surprise, retraced.surprise)  # same stored "then"
    s = rt.summary()
    assert s["n_decisions"] == 8 and 0 <= s["mean_exploration_share"] <= 1
    assert len(rt.figure().axes) >= 4


@pytest.mark.parametrize(
    ("policy", "exploit", "explore"),
    [
        ({"name": "ucb", "params": {"beta": 4.0}}, [1.0, -2.0], [1.0, 4.0]),
        ({"name": "ucb", "params": {"beta": 4.0, "maximize": False}}, [-1.0, 2.0], [1.0, 4.0]),
        ({"name": "exploit", "params": {}}, [1.0, -2.0], [0.0, 0.0]),
        ({"name": "maxvar", "params": {}}, [0.0, 0.0], [0.5, 2.0]),
        (
            {"name": "cost_aware", "params": {"base": {"name": "maxvar", "params": {}}}},
            [0.0, 0.0],
            [0.5, 2.0],
        ),
    ],
)
def test_acquisition_terms(policy, exploit, explore):
    a, b = acquisition_terms(policy, [1.0, -2.0], [0.5, 2.0], [0.0, 0.0])
    np.testing.assert_allclose(a, exploit)
    np.testing.assert_allclose(b, explore)


def test_ei_terms_closed_form():
    # mu = best: EI = sigma * phi(0)
    a, b = acquisition_terms({"name": "ei", "params": {}}, [1.0], [2.0], [1.0])
    assert a[0] == 0.0 and b[0] == pytest.approx(2.0 / np.sqrt(2 * np.pi))
    # far above the incumbent: all exploitation
    a, b = acquisition_terms({"name": "ei", "params": {}}, [10.0], [0.1], [0.0])
    assert a[0] == pytest.approx(10.0) and b[0] == pytest.approx(0.0, abs=1e-12)


def test_not_a_trace_raises():
    with pytest.raises(InputDataError, match="expected an ExperimentTrace"):
        retrace(object())
