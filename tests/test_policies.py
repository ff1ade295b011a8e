"""Tests of autoscope.policies: numbers against hand formulas, batches, costs, specs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy.stats import norm

from autoscope import policies
from autoscope.policies import DecisionContext
from autoscope.policies._registry import POLICIES


def ctx(mean, var, observed=(0.0,), **kw):
    mean = np.asarray(mean, dtype=float)
    return DecisionContext(
        mean=mean,
        var=np.asarray(var, dtype=float),
        observed=np.asarray(observed, dtype=float),
        available=kw.pop("available", np.ones(len(mean), dtype=bool)),
        rng=kw.pop("rng", np.random.default_rng(0)),
        **kw,
    )


class CovPosterior:
    """A posterior with an explicit covariance matrix over the candidates."""

    def __init__(self, mean, cov):
        self.mean, self.cov = np.asarray(mean, float), np.asarray(cov, float)

    def cross_cov(self, idx):
        return self.cov[:, list(idx)]

    def joint_sample(self, idx, rng, n_samples=1):
        idx = np.asarray(idx)
        chol = np.linalg.cholesky(self.cov[np.ix_(idx, idx)] + 1e-12 * np.eye(len(idx)))
        return self.mean[idx] + (chol @ rng.standard_normal((len(idx), n_samples))).T


MEAN = np.array([0.0, 0.5, 1.0, 1.5, -2.0])
VAR = np.array([1.0, 0.25, 0.04, 2.0, 0.5])
BEST = 1.0


def hand_ei(mean, sd, best):
    z = (mean - best) / sd
    return sd * (z * norm.cdf(z) + norm.pdf(z))


def test_ei_logei_pi_match_hand_formulas():
    c = ctx(MEAN, VAR, observed=[0.2, BEST])
    sd = np.sqrt(VAR)
    np.testing.assert_allclose(policies.get("ei").score(c), hand_ei(MEAN, sd, BEST), rtol=1e-6)
    np.testing.assert_allclose(
        policies.get("logei").score(c), np.log(hand_ei(MEAN, sd, BEST)), rtol=1e-6
    )
    np.testing.assert_allclose(policies.get("pi").score(c), norm.cdf((MEAN - BEST) / sd), rtol=1e-6)


def test_minimisation_flips_the_incumbent_and_sign():
    c = ctx(MEAN, VAR, observed=[0.2, BEST])  # best for minimisation: 0.2
    sd = np.sqrt(VAR)
    ei_min = policies.get("ei", maximize=False).score(c)
    np.testing.assert_allclose(ei_min, hand_ei(-MEAN, sd, -0.2), rtol=1e-6)
    ucb_min = policies.get("ucb", beta=4.0, maximize=False).score(c)
    np.testing.assert_allclose(ucb_min, -MEAN + 2.0 * sd, rtol=1e-12)
    np.testing.assert_allclose(policies.get("exploit", maximize=False).score(c), -MEAN, atol=1e-12)


def test_ucb_exploit_maxvar():
    c = ctx(MEAN, VAR)
    np.testing.assert_allclose(
        policies.get("ucb", beta=2.25).score(c), MEAN + 1.5 * np.sqrt(VAR), rtol=1e-12
    )
    np.testing.assert_allclose(policies.get("exploit").score(c), MEAN, atol=1e-12)
    np.testing.assert_allclose(policies.get("maxvar").score(c), np.sqrt(VAR), rtol=1e-12)
    assert policies.get("ucb", beta=0.0).select(c) == [3]
    assert policies.get("maxvar").select(c) == [3]
    assert policies.get("exploit").select(c) == [3]


@pytest.mark.parametrize("unit", [1e-9, 1.0, 1e6])
def test_scores_are_unit_equivariant(unit):
    c1 = ctx(MEAN, VAR, observed=[BEST])
    cu = ctx(MEAN * unit, VAR * unit**2, observed=[BEST * unit])
    np.testing.assert_allclose(
        policies.get("ei").score(cu), unit * policies.get("ei").score(c1), rtol=1e-7
    )
    np.testing.assert_allclose(
        policies.get("pi").score(cu), policies.get("pi").score(c1), rtol=1e-7
    )
    np.testing.assert_allclose(
        policies.get("ucb").score(cu), unit * policies.get("ucb").score(c1), rtol=1e-7
    )


def test_ei_far_below_the_incumbent_still_ranks():
    # legacy EI underflows to exactly 0 here; exp(LogEI) keeps the order
    c = ctx([0.0, 0.1, 0.05], [0.01, 0.01, 0.01], observed=[10.0])
    s = policies.get("ei").score(c)
    assert (s >= 0).all()
    assert policies.get("logei").select(c) == [1]
    assert np.argmax(policies.get("logei").score(c)) == 1


def test_ties_go_to_the_larger_variance():
    c = ctx([1.0, 1.0, 1.0], [0.1, 0.3, 0.2])
    assert policies.get("exploit").select(c) == [1]


def test_unavailable_candidates_are_never_selected():
    avail = np.array([True, True, True, False, False])
    c = ctx(MEAN, VAR, available=avail)
    for name in ["ei", "logei", "pi", "ucb", "exploit", "maxvar", "thompson"]:
        picks = policies.get(name).select(c, 3)
        assert sorted(picks) == [0, 1, 2], name


def test_batch_kriging_believer_spreads_over_correlated_points():
    # candidates 0 and 1 are perfectly correlated, 2 is independent with smaller variance
    cov = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.5]])
    c = ctx([0, 0, 0], np.diag(cov), posterior=CovPosterior([0, 0, 0], cov), noise=1e-6)
    ids, scores = policies.get("maxvar").choose(c, 2)
    assert ids[0] in (0, 1) and ids[1] == 2  # not the twin of the first pick
    np.testing.assert_allclose(scores, [1.0, np.sqrt(0.5)])
    # without covariance information: plain top-2
    c2 = ctx([0, 0, 0], np.diag(cov))
    assert sorted(policies.get("maxvar").select(c2, 2)) == [0, 1]


def test_batch_returns_distinct_points_and_stops_when_none_left():
    c = ctx(MEAN, VAR, available=np.array([True, False, True, False, False]))
    assert sorted(policies.get("ei").select(c, 5)) == [0, 2]


def test_thompson_marginal_frequencies():
    pol = policies.get("thompson")
    rng = np.random.default_rng(0)
    picks = [pol.select(ctx([0.0, 1.0], [1.0, 1.0], rng=rng))[0] for _ in range(2000)]
    expected = norm.cdf(1.0 / np.sqrt(2.0))  # P(f1 > f0)
    assert abs(np.mean(picks) - expected) < 0.03


def test_thompson_joint_sample_on_a_subset_is_reproducible():
    n = 50
    cov = np.exp(-0.5 * (np.subtract.outer(np.arange(n), np.arange(n)) / 5.0) ** 2)
    post = CovPosterior(np.zeros(n), cov)
    pol = policies.get("thompson", max_joint=10)
    c = ctx(np.zeros(n), np.ones(n), posterior=post, rng=np.random.default_rng(3))
    s = pol.score(c)
    assert np.isfinite(s).sum() == 10 and np.isnan(s).sum() == 40
    again = pol.score(ctx(np.zeros(n), np.ones(n), posterior=post, rng=np.random.default_rng(3)))
    np.testing.assert_array_equal(s, again)
    ids = pol.select(ctx(np.zeros(n), np.ones(n), posterior=post), 4)
    assert len(set(ids)) == 4


def test_cost_aware_prefers_near_points_when_scores_tie():
    coords = np.array([[0, 0], [0, 10], [0, 3], [20, 20]])
    c = ctx(np.zeros(4), np.ones(4), coords=coords, last=np.array([0.0, 0.0]),
            available=np.array([False, True, True, True]))  # fmt: skip
    pol = policies.get("cost_aware", base="ucb", travel_weight=0.01)
    assert pol.select(c, 3) == [2, 1, 3]  # by distance 3 < 10 < 28.3
    np.testing.assert_allclose(pol.cost(c), 0.01 * np.array([0.0, 10.0, 3.0, np.hypot(20, 20)]))


def test_cost_aware_trades_value_for_travel():
    coords = np.array([[0, 0], [0, 50]])
    c = ctx([0.9, 1.0], [0.01, 0.01], coords=coords, last=np.array([0.0, 0.0]))
    assert policies.get("cost_aware", base="exploit", travel_weight=0.0).select(c) == [1]
    # normalised: [0, 1] scores; 50 px at 0.03/px costs 1.5 > the gain of 1
    assert policies.get("cost_aware", base="exploit", travel_weight=0.03).select(c) == [0]
    raw = policies.get("cost_aware", base="exploit", travel_weight=0.001, normalize=False)
    np.testing.assert_allclose(raw.score(c), [0.9, 1.0 - 0.05])


def test_cost_aware_dwell_and_batch_travel_chain():
    coords = np.array([[0, 0], [0, 1], [0, 2], [0, 9]])
    c = ctx(np.zeros(4), np.ones(4), coords=coords, dwell=np.array([5.0, 1.0, 1.0, 1.0]),
            posterior=CovPosterior(np.zeros(4), np.eye(4)), last=np.array([0.0, 0.0]))  # fmt: skip
    pol = policies.get("cost_aware", base="maxvar", travel_weight=0.1, dwell_weight=1.0)
    # 0 is closest but needs 5 s of dwell; in the batch each move starts at the last pick
    assert pol.select(c, 3) == [1, 2, 3]


def test_cost_aware_needs_coordinates():
    pol = policies.get("cost_aware", travel_weight=0.1)
    with pytest.raises(ValueError, match="needs candidate coordinates"):
        pol.score(ctx([0.0, 1.0], [1.0, 1.0], last=np.array([0.0, 0.0])))


def test_registry_and_specs():
    # other packages may register more (autoscope.steering adds "boosted")
    assert {
        "cost_aware", "ei", "exploit", "logei", "maxvar", "pi", "thompson", "ucb"
    } <= set(policies.available())  # fmt: skip
    for name in policies.available():
        p = policies.get(name)
        spec = json.loads(json.dumps(p.spec))
        assert policies.from_spec(spec) == p
    nested = policies.from_spec(
        {"name": "cost_aware", "params": {"base": {"name": "ucb", "params": {"beta": 1.0}}}}
    )
    assert nested.base == policies.get("ucb", beta=1.0)


def test_register_a_user_policy_without_touching_the_class():
    class Lowest(policies.Policy):
        name = "lowest_test"

        def score(self, ctx):
            return -np.asarray(ctx.mean, dtype=float)

    assert policies.register("lowest_test", Lowest) is Lowest
    try:
        pol = policies.from_spec({"name": "lowest_test"})
        assert pol.spec == {"name": "lowest_test", "params": {}}
        assert pol.select(ctx([0.5, -1.0, 2.0], [1.0, 1.0, 1.0]), 1) == [1]
        with pytest.raises(ValueError, match="'lowest_test' is already registered"):
            policies.register("lowest_test", Lowest)
    finally:
        POLICIES.unregister("lowest_test")
    # the old register overwrote cls.name; now a mismatch is an error and the class is kept
    with pytest.raises(ValueError, match="declares name 'lowest_test'"):
        policies.register("renamed", Lowest)
    assert Lowest.name == "lowest_test"
    assert "renamed" not in policies.available()
    with pytest.raises(ValueError, match="expected a Policy subclass"):
        policies.register("bad", dict)


@pytest.mark.parametrize(
    "spec, match",
    [
        ("ucbb", "unknown policy 'ucbb'; available: (boosted, )?cost_aware"),
        ({"name": "ucb", "params": {"beta": -1}}, "beta must be a number >= 0"),
        ({"name": "ucb", "params": {"kappa": 2}}, "policy 'ucb': bad parameters"),
        ({"name": "ei", "params": {"maximize": "yes"}}, "maximize must be a bool"),
        ({"name": "thompson", "params": {"max_joint": 0}}, "max_joint must be an int >= 1"),
        ({"name": "cost_aware", "params": {"base": "nope"}}, "unknown policy 'nope'"),
        ({"name": "cost_aware", "params": {"base": "cost_aware"}}, "cannot wrap"),
        ({"name": "cost_aware", "params": {"travel_weight": -0.1}}, "travel_weight must be"),
        ({"name": "ei", "options": {}}, "a policy spec is"),
        (None, "a policy is a name"),
    ],
)
def test_bad_specs_raise_value_error_at_build(spec, match):
    with pytest.raises(ValueError, match=match):
        policies.from_spec(spec)


def test_policy_on_predictions_matches_botorch_on_the_dkl_model():
    """Checked before: BoTorch's analytic EI on the DKL GP (GPyTorchModel mixin) = our policy."""
    from botorch.acquisition.analytic import LogExpectedImprovement

    from autoscope.models import DKL

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 5)).astype(np.float32)
    y = np.sin(x[:, 0]) + 0.5 * x[:, 1]
    model = DKL(seed=0, n_iter=40, dtype="float64")
    model.fit(x[:20], y[:20])
    mean, var = model.predict(x)
    ours = policies.get("logei").score(ctx(mean, var, observed=y[:20]))
    best_std = (y[:20].max() - model._y_loc) / model._y_scale
    acqf = LogExpectedImprovement(model.module, best_f=best_std)
    with torch.no_grad():
        theirs = acqf(torch.as_tensor(x, dtype=torch.float64).unsqueeze(1)).numpy()
    # same function up to the log of the target scale
    np.testing.assert_allclose(ours, theirs + np.log(model._y_scale), rtol=1e-5, atol=1e-5)
    assert np.argmax(ours) == np.argmax(theirs)


def test_thompson_survives_an_indefinite_float32_posterior_covariance():
    """1000 jointly sampled candidates of a confident DKL: round-off makes the covariance
    indefinite beyond jitter; the draw falls back to the nearest PSD matrix."""
    from scipy.ndimage import gaussian_filter

    from autoscope.models._gp import _psd_root
    from autoscope.recommender import DKLRecommender

    image = gaussian_filter(np.random.default_rng(0).normal(size=(48, 48)), 1.5)
    rec = DKLRecommender(
        image, 8, "thompson", seed=0, model={"name": "dkl", "params": {"n_iter": 100}}
    )
    truth = rec.features[:, 3:5, 3:5].mean(axis=(1, 2))
    ids = np.random.default_rng(1).choice(len(truth), 60, replace=False)
    rec.ingest([{"_id": int(i), "value": float(truth[i])} for i in ids])
    (pt,) = rec.suggest(1)  # raised ModelFittingError before
    assert rec.last_decision["phase"] == "model" and pt["_id"] not in set(ids.tolist())
    bad = torch.tensor([[1.0, 2.0], [2.0, 1.0]], dtype=torch.float64)  # eigenvalues 3, -1
    root = _psd_root(bad)
    np.testing.assert_allclose((root @ root.T).numpy(), [[1.5, 1.5], [1.5, 1.5]], atol=1e-12)
