"""The fast update path: conditioning between retrains equals the exact GP, on a schedule."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from autoscope.errors import InputDataError
from autoscope.models import DKL, Committee, GPCoords

FAST = {"n_iter": 30, "warm_iter": 5}
NEVER = {"refit_every": 1000, "refit_surprise": None, "refit_growth": 1000.0}


@pytest.mark.parametrize(("dtype", "tol"), [("float64", 1e-7), ("float32", 2e-3)])
def test_conditioned_posterior_equals_the_exact_gp_with_the_network_frozen(
    patch_data, exact_gp, dtype, tol
):
    x, y = patch_data
    model = DKL(seed=0, dtype=dtype, **FAST, **NEVER)
    first = model.fit(x[:20], y[:20])
    assert first["update"] == "train"
    model.posterior(x)  # builds the candidate cache, extended below
    state = copy.deepcopy(model.module.state_dict())
    for n, new in ((21, 1), (24, 3), (25, 1)):  # one point, a block of three, one point
        report = model.fit(x[:n], y[:n])
        assert report["update"] == "condition"
        assert report["iterations"] == 0 and len(report["forecast_z"]) == new
    for key, value in model.module.state_dict().items():  # nothing was trained
        if key in state and not key.startswith("train_"):
            assert torch.equal(value, state[key]), key
    mean, var = exact_gp(model, x[:25], y[:25], x)
    cached = model.posterior(x)  # the extended cache
    rebuilt = model.posterior(x.copy())  # a new array: embeddings and V from scratch
    for post in (cached, rebuilt):
        np.testing.assert_allclose(post.mean, mean, rtol=tol, atol=tol)
        np.testing.assert_allclose(post.var, var, rtol=50 * tol, atol=tol)
    np.testing.assert_allclose(
        cached.cross_cov([3, 7]), rebuilt.cross_cov([3, 7]), rtol=tol, atol=tol
    )
    # a measured point is pinned down: its variance is about the noise or less
    assert cached.var[22] < 0.2 * float(np.var(y[:25]))


def test_schedule_trains_every_k_fits_and_conditions_in_between(patch_data):
    x, y = patch_data
    model = DKL(seed=0, **FAST, refit_every=3, refit_surprise=None, refit_growth=100.0)
    updates = [model.fit(x[:n], y[:n]) for n in range(20, 28)]
    assert [r["update"] for r in updates] == [
        "train", "condition", "condition", "train", "condition", "condition", "train",
        "condition",
    ]  # fmt: skip
    assert [r["trigger"] for r in updates if r["update"] == "train"] == [
        "first",
        "schedule",
        "schedule",
    ]
    assert model.n_fits == 8


def test_growth_surprise_and_changed_data_trigger_a_retrain():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 40, size=(40, 2))
    y = np.sin(x[:, 0] / 6) + np.cos(x[:, 1] / 8) + 0.01 * rng.normal(size=40)
    model = GPCoords(seed=0, refit_every=50, refit_surprise=4.0, refit_growth=1.5)
    model.fit(x[:20], y[:20])
    report = model.fit(x[:28], y[:28])
    assert report["update"] == "condition", report
    assert max(abs(z) for z in report["forecast_z"]) < 4.0
    assert model.fit(x[:30], y[:30])["trigger"] == "growth"  # 30 >= 1.5 * 20
    outlier = y[:31].copy()
    outlier[30] = y[:30].max() + 50 * y[:30].std()
    report = model.fit(x[:31], outlier)
    assert (report["update"], report["trigger"]) == ("train", "surprise")
    assert model.fit(x[:32], y[:32])["trigger"] == "data"  # the outlier's value was replaced


def test_reinit_schedule_is_kept_between_conditioning_fits(patch_data):
    x, y = patch_data
    model = DKL(seed=0, **FAST, reinit_every=4, refit_every=3, refit_surprise=None,
                refit_growth=100.0)  # fmt: skip
    reports = [model.fit(x[:n], y[:n]) for n in range(20, 30)]
    reinits = [k for k, r in enumerate(reports) if r["reinit"]]
    assert reinits == [0, 4, 8]  # every 4 fits, as without the fast path
    assert reports[4]["trigger"] == "reinit" and reports[8]["trigger"] == "reinit"


def test_sliced_retrain_trains_a_copy_in_the_background_and_swaps_it_in(patch_data, exact_gp):
    x, y = patch_data
    model = DKL(seed=0, n_iter=8, warm_iter=5, reinit_every=0, refit_every=3, refit_slice=2,
                refit_growth=100.0)  # fmt: skip
    reports = [model.fit(x[:n], y[:n]) for n in range(20, 34)]
    updates = [r["update"] for r in reports]
    assert updates[0] == "train" and "train" not in updates[1:]  # never trained in the fit
    assert all(r["iterations"] <= 2 for r in reports[1:])
    promoted = [k for k, u in enumerate(updates) if u == "promote"]
    # due at fit 3 (as without slices), 5 steps in slices of 2: fits 3, 4, 5 -> swap at 5
    assert promoted[0] == 5 and reports[3]["background"]["left"] == 3
    assert reports[5]["trigger"] == "schedule" and np.isfinite(reports[5]["loss"])
    served = model.module
    mean, var = exact_gp(model, x[:33], y[:33], x[:50])
    post = model.posterior(x[:50])
    np.testing.assert_allclose(post.mean, mean, rtol=2e-3, atol=2e-3)
    assert model.module is served


def test_sliced_reinit_starts_from_fresh_weights(patch_data):
    x, y = patch_data
    model = DKL(seed=0, n_iter=6, warm_iter=2, reinit_every=4, refit_every=50, refit_slice=3,
                refit_growth=100.0)  # fmt: skip
    reports = [model.fit(x[:n], y[:n]) for n in range(20, 28)]
    assert [r["update"] for r in reports[3:7]] == ["condition", "condition", "promote", "condition"]
    assert reports[4]["background"] == {"left": 3, "reinit": True, "trigger": "reinit"}
    assert reports[5]["reinit"] is True


def test_without_the_fast_path_slices_move_only_the_reinit_to_the_copy(patch_data):
    x, y = patch_data
    model = DKL(seed=0, n_iter=9, warm_iter=2, reinit_every=3, refit_slice=3)
    reports = [model.fit(x[:n], y[:n]) for n in range(20, 28)]
    assert [r["update"] for r in reports] == [
        "train", "train", "train", "train", "train", "promote", "train", "train",
    ]  # fmt: skip
    # fit 3: reinit due -> a fresh copy, 3 steps per fit beside the warm fit (2 steps);
    # done at fit 5, swapped in; fit 6 is due again -> the next copy
    assert [r["reinit"] for r in reports[:5]] == [True, False, False, False, False]
    assert reports[3]["background"] == {"left": 6, "reinit": True, "trigger": "reinit"}
    assert reports[5]["reinit"] is True and reports[6]["background"]["left"] == 6
    assert max(r["iterations"] for r in reports[1:]) <= 2 + 3  # warm fit + slice, never 9


def test_same_seed_same_sequence_gives_identical_posteriors(patch_data):
    x, y = patch_data
    posts = []
    for _ in range(2):
        model = Committee(
            members=[{"name": "dkl", "params": FAST}, "pca_gp"], seed=3, refit_every=4
        )
        for n in range(15, 22):
            model.fit(x[:n], y[:n])
        posts.append(model.posterior(x))
    np.testing.assert_array_equal(posts[0].mean, posts[1].mean)
    np.testing.assert_array_equal(posts[0].var, posts[1].var)


def test_committee_passes_refit_every_to_members_and_reports_the_update():
    committee = Committee(refit_every=4)
    assert [m.params["refit_every"] for m in committee.models] == [4, 4]
    assert "refit_every" not in committee.spec["params"]["members"][0]["params"]
    assert committee.spec["params"]["refit_every"] == 4
    assert "refit_every" not in Committee().spec["params"]  # unchanged default spec
    own = Committee(members=[{"name": "gp_coords", "params": {"refit_every": 2}}, "gp_coords"],
                    refit_every=5)  # fmt: skip
    assert [m.params["refit_every"] for m in own.models] == [2, 5]
    coords = np.random.default_rng(0).uniform(0, 30, size=(40, 2))
    model = Committee(members=["gp_coords", {"name": "gp_coords", "params": {"seed": 1}}],
                      refit_every=3)  # fmt: skip
    model.fit(coords[:10], coords[:10, 0])
    report = model.fit(coords[:11], coords[:11, 0])
    assert report["update"] == "condition" and report["trigger"] is None


@pytest.mark.parametrize(
    ("params", "word"),
    [
        ({"refit_every": 0}, "refit_every"),
        ({"refit_growth": 1.0}, "refit_growth"),
        ({"refit_surprise": -1.0}, "refit_surprise"),
    ],
)
def test_bad_schedule_is_refused(params, word):
    with pytest.raises(InputDataError, match=word):
        GPCoords(**params)
