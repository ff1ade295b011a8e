"""Retrains in a background thread (``refit_lag``): swapped in at a fixed fit, at any speed."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from autoscope.errors import InputDataError
from autoscope.models import DKL, Committee, from_spec
from autoscope.models import _background as background
from autoscope.models._training import NonFiniteLoss

BG = {"n_iter": 30, "warm_iter": 10, "refit_every": 3, "refit_lag": 2, "refit_growth": 100.0}


def run(model, x, y, sizes, *, release=True):
    """Fit ``model`` on growing prefixes; return the reports and the posteriors' means."""
    reports, means = [], []
    for n in sizes:
        reports.append(model.fit(x[:n], y[:n]))
        means.append(model.posterior(x).mean.copy())
        if release:
            model.release()
    return reports, means


def test_a_retrain_starts_when_due_and_is_promoted_lag_fits_later(patch_data):
    x, y = patch_data
    model = DKL(seed=0, reinit_every=0, **BG)
    reports, _ = run(model, x, y, range(20, 30))
    assert [r["update"] for r in reports] == [
        "train", "condition", "condition", "condition", "condition", "promote",
        "condition", "condition", "promote", "condition",
    ]  # fmt: skip
    # started at fits 3 and 6 (every 3rd fit), promoted 2 fits later, trained on what it had
    promoted = [r for r in reports if r["update"] == "promote"]
    assert [r["background"]["started_fit"] for r in promoted] == [3, 6]
    assert [r["background"]["trained_on"] for r in promoted] == [23, 26]
    assert all(r["iterations"] == 10 and np.isfinite(r["loss"]) for r in promoted)
    assert reports[3]["background"] == {
        "started_fit": 3, "promote_at": 5, "reinit": False, "trigger": "schedule"
    }  # fmt: skip
    assert all(r["iterations"] == 0 for r in reports if r["update"] == "condition")


def test_a_promoted_model_is_the_exact_gp_on_all_the_data(patch_data, exact_gp):
    x, y = patch_data
    model = DKL(seed=0, reinit_every=0, dtype="float64", **BG)
    before = None
    for n in range(20, 26):
        report = model.fit(x[:n], y[:n])
        if n == 22:  # the retrain in flight trains a copy: the served weights do not move
            before = {k: v.clone() for k, v in model.module.state_dict().items()}
        if n == 24:
            assert report["update"] == "condition"
            for key, value in model.module.state_dict().items():
                if key in before and not key.startswith("train_"):
                    assert torch.equal(value, before[key]), key
        model.posterior(x)
        model.release()
    assert report["update"] == "promote"  # n = 25: trained on 23 points, conditioned on 2 more
    assert report["background"]["trained_on"] == 23
    assert len(report["forecast_z"]) == 2
    mean, var = exact_gp(model, x[:25], y[:25], x)
    post = model.posterior(x)  # the copy's candidate posterior, extended by two points
    np.testing.assert_allclose(post.mean, mean, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(post.var, var, rtol=5e-6, atol=1e-7)


def test_a_slow_trainer_changes_the_wait_not_the_run(patch_data, monkeypatch):
    x, y = patch_data
    quick = DKL(seed=0, reinit_every=0, **BG)
    ref_reports, ref_means = run(quick, x, y, range(20, 30))

    train = DKL._train

    def slow(self, *args, **kwargs):  # the background copy trains 0.3 s longer
        if threading.current_thread() is not threading.main_thread():
            time.sleep(0.3)
        return train(self, *args, **kwargs)

    monkeypatch.setattr(DKL, "_train", slow)
    slow_model = DKL(seed=0, reinit_every=0, **BG)
    reports, means = run(slow_model, x, y, range(20, 30))
    assert [r["update"] for r in reports] == [r["update"] for r in ref_reports]
    for a, b in zip(means, ref_means, strict=True):
        np.testing.assert_array_equal(a, b)
    waits = [r["background"]["waited_s"] for r in reports if r["update"] == "promote"]
    assert min(waits) > 0.1  # the promoting fit waited for the slow copy


def test_a_reinit_trains_longer_in_the_background_and_is_promoted_later(patch_data):
    x, y = patch_data
    model = DKL(seed=0, reinit_every=4, n_iter=30, warm_iter=10, refit_every=10,
                refit_lag=1, refit_growth=100.0)  # fmt: skip
    reports, _ = run(model, x, y, range(20, 32))
    started = [i for i, r in enumerate(reports) if r.get("background", {}).get("reinit")]
    assert started and reports[started[0]]["background"]["promote_at"] == 4 + 3  # 1 * 30 / 10
    promoted = [r for r in reports if r["update"] == "promote"]
    assert promoted[0]["reinit"] and promoted[0]["trigger"] == "reinit"
    assert promoted[0]["iterations"] == 30
    assert reports.index(promoted[0]) == 7  # report k is fit k (counted from 0)


def test_a_failed_background_retrain_is_recorded_and_the_served_model_stays(
    patch_data, monkeypatch
):
    x, y = patch_data
    model = DKL(seed=0, reinit_every=0, **BG)
    train = DKL._train

    def failing(self, *args, **kwargs):
        if threading.current_thread() is not threading.main_thread():
            raise NonFiniteLoss("loss is nan at iteration 3")
        return train(self, *args, **kwargs)

    monkeypatch.setattr(DKL, "_train", failing)
    reports, means = run(model, x, y, range(20, 27))
    assert "promote" not in [r["update"] for r in reports]
    assert reports[5]["update"] == "condition"
    assert reports[5]["failures"] == [
        "background retrain: NonFiniteLoss: loss is nan at iteration 3"
    ]
    assert np.isfinite(means[-1]).all()


def test_new_data_drops_the_retrain_in_flight(patch_data):
    x, y = patch_data
    model = DKL(seed=0, reinit_every=0, **BG)
    run(model, x, y, range(20, 24))
    assert model._background is not None
    changed = y[:24].copy()
    changed[0] += 1.0  # an earlier value replaced: the copy trains on stale data
    report = model.fit(x[:24], changed)
    assert report["update"] == "train" and report["trigger"] == "data"
    assert model._background is None


def test_the_trainer_sets_its_own_torch_threads_only(patch_data):
    x, y = patch_data
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        model = DKL(seed=0, reinit_every=0, threads=1, **BG)
        run(model, x, y, range(20, 26))
        assert torch.get_num_threads() == 2
        seen = background.trainer(model).submit(torch.get_num_threads).result()
        assert seen == 1
    finally:
        torch.set_num_threads(old)


def test_refit_lag_is_checked_and_in_the_spec_only_when_set():
    with pytest.raises(InputDataError, match="refit_lag=2 .* refit_every >= 2"):
        DKL(refit_lag=2)
    with pytest.raises(InputDataError, match="refit_lag .* refit_slice .* exclude"):
        DKL(refit_every=3, refit_lag=2, refit_slice=5)
    with pytest.raises(InputDataError, match="refit_lag"):
        DKL(refit_every=3, refit_lag=-1)
    assert "refit_lag" not in DKL().spec["params"]
    assert DKL(refit_every=3, refit_lag=2).spec["params"]["refit_lag"] == 2
    c = Committee(refit_every=5, refit_lag=2)
    assert c.spec["params"]["refit_lag"] == 2
    assert [m.params["refit_lag"] for m in c.models] == [2, 2]
    assert from_spec(c.spec).spec == c.spec
