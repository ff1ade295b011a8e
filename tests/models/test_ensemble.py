"""Tests of the ensemble model and its mixture posterior."""

from __future__ import annotations

import numpy as np
import pytest

from autoscope.errors import InputDataError
from autoscope.models import DKL, Ensemble, MixturePosterior, from_spec

FAST = {"n_iter": 40, "warm_iter": 10}


@pytest.fixture(scope="module")
def fitted(patch_data):
    x, y = patch_data
    ens = Ensemble(base={"name": "dkl", "params": FAST}, members=3, seed=3)
    ens.fit(x[:30], y[:30])
    return ens, x, y


def test_first_member_is_the_single_model_and_members_differ(fitted):
    ens, x, y = fitted
    single = DKL(seed=3, **FAST)
    single.fit(x[:30], y[:30])
    np.testing.assert_allclose(ens.models[0].predict(x[30:])[0], single.predict(x[30:])[0])
    m1, m2 = (m.predict(x[30:])[0] for m in ens.models[1:])
    assert not np.allclose(m1, m2)
    assert ens.n_fits == 1 and len(ens.fit(x[:31], y[:31])["members"]) == 3


def test_mixture_moments_cross_covariance_and_widening(fitted):
    ens, x, _ = fitted
    post = ens.posterior(x[30:])
    assert isinstance(post, MixturePosterior)
    means = np.stack([m.mean for m in post.members])
    varis = np.stack([m.var for m in post.members])
    np.testing.assert_allclose(post.mean, means.mean(0))
    np.testing.assert_allclose(post.var, varis.mean(0) + means.var(0))
    assert (post.var >= varis.mean(0)).all()
    idx = [0, 5, 9]
    cov = post.cross_cov(idx)
    np.testing.assert_allclose(cov[idx, np.arange(3)], post.var[idx], rtol=1e-4)  # float32
    wide = post.widened(4.0)
    np.testing.assert_allclose(wide.mean, post.mean)
    np.testing.assert_allclose(wide.var, 4.0 * post.var, rtol=1e-6)
    np.testing.assert_allclose(wide.cross_cov(idx), 4.0 * cov, rtol=1e-5, atol=1e-12)
    assert wide.noise == pytest.approx(4.0 * post.noise)


def test_joint_samples_have_the_mixture_moments(fitted):
    ens, x, _ = fitted
    post = ens.posterior(x[30:])
    idx = [1, 2, 40]
    draws = post.joint_sample(idx, np.random.default_rng(0), 20000)
    assert draws.shape == (20000, 3)
    sd = np.sqrt(post.var[idx])
    np.testing.assert_allclose(draws.mean(0), post.mean[idx], atol=0.05 * sd.max())
    np.testing.assert_allclose(np.cov(draws.T), post.cross_cov(idx)[idx], atol=0.05 * sd.max() ** 2)


def test_spec_round_trip_and_bad_parameters():
    ens = Ensemble(base="spatial_dkl", members=2, seed=5)
    assert ens.spec["name"] == "ensemble" and "seed" not in ens.spec["params"]["base"]["params"]
    assert from_spec(ens.spec).spec == ens.spec
    assert ens.input_kind == "features+coords"
    with pytest.raises(InputDataError, match="members"):
        Ensemble(members=1)
    with pytest.raises(InputDataError, match="another ensemble"):
        Ensemble(base="ensemble")
    with pytest.raises(InputDataError, match="unknown model"):
        Ensemble(base="nope")


def test_recommender_runs_an_ensemble_of_spatial_dkls():
    from autoscope.recommender import DKLRecommender
    from autoscope.sim.spm import SPMSample

    sample = SPMSample(shape=(32, 32), seed=0)
    base = {"name": "spatial_dkl", "params": {"n_iter": 40, "warm_iter": 10}}
    rec = DKLRecommender(
        sample.image, 8, seed=1, model={"name": "ensemble", "params": {"base": base, "members": 2}}
    )
    truth = np.random.default_rng(0).normal(size=len(rec.candidates))
    seen = set()
    for _ in range(8):
        pts = rec.suggest(2)
        assert not seen & {p["_id"] for p in pts}
        seen |= {p["_id"] for p in pts}
        rec.ingest([{"_id": p["_id"], "value": float(truth[p["_id"]])} for p in pts])
    assert rec.last_decision["phase"] == "model"
    assert all(m.feature_shape == (8, 8, 3) for m in rec.model.models)
    assert rec.config["model"]["params"]["seed"] == 1
    mean, var = rec.predict()
    assert np.isfinite(mean).all() and (var > 0).all()


def test_a_committee_of_different_models_reads_its_own_columns():
    """A spatial DKL and a GP on the position: the GP sees only the last two columns."""
    from autoscope.models import GPCoords, SpatialDKL
    from autoscope.recommender import DKLRecommender
    from autoscope.sim.spm import SPMSample

    members = [{"name": "spatial_dkl", "params": FAST}, "gp_coords"]
    spec = {"name": "ensemble", "params": {"members": members}}
    sample = SPMSample(shape=(32, 32), seed=0)
    rec = DKLRecommender(sample.image, 8, seed=4, model=spec)
    truth = np.random.default_rng(1).normal(size=len(rec.candidates))
    for _ in range(12):
        (p,) = rec.suggest(1)
        rec.ingest([{"_id": p["_id"], "value": float(truth[p["_id"]])}])
    assert rec.last_decision["phase"] == "model"
    ens = rec.model
    dkl, coords = ens.models[0], ens.models[1].model
    assert isinstance(dkl, SpatialDKL) and isinstance(coords, GPCoords)
    assert dkl.params["seed"] == coords.params["seed"] == 4  # both take the ensemble's seed
    assert ens.spec["params"]["members"][1]["name"] == "gp_coords"
    assert "seed" not in ens.spec["params"]["members"][1]["params"]
    assert from_spec(ens.spec).spec == ens.spec
    # the coordinate member is the GP on the candidates' (row, col), the last two columns
    x_all = rec._inputs(ens)
    np.testing.assert_array_equal(x_all[:, -2:], rec.candidates)
    post = ens.posterior(x_all)
    mean, var = coords.predict(rec.candidates.astype(np.float32))
    np.testing.assert_allclose(post.members[1].mean, mean, rtol=1e-6)
    np.testing.assert_allclose(post.members[1].var, var, rtol=1e-6)
    assert np.ptp(mean) > 0.01  # it learned something from the positions
    np.testing.assert_allclose(post.mean, (post.members[0].mean + post.members[1].mean) / 2)
    own = Ensemble(members=[{"name": "gp_coords", "params": {"seed": 9}}, "gp_coords"], seed=2)
    assert [m.params["seed"] for m in own.models] == [9, 2]
    with pytest.raises(InputDataError, match="do not contain"):
        Ensemble(members=["gp_coords", "dkl"])
    with pytest.raises(InputDataError, match="2-16 members"):
        Ensemble(members=["gp_coords"])


def test_the_committee_is_that_ensemble_under_its_own_name():
    """``committee`` makes the same decisions as the equivalent ensemble spec, and reports
    the spatial member's structure share (the coordinate GP has none)."""
    from autoscope.models import Committee
    from autoscope.recommender import DKLRecommender
    from autoscope.sim.spm import SPMSample

    members = [{"name": "spatial_dkl", "params": FAST}, "gp_coords"]
    sample = SPMSample(shape=(32, 32), seed=0)
    truth = np.random.default_rng(1).normal(size=(32 - 7) ** 2)
    chosen = {}
    for key, spec in {
        "committee": {"name": "committee", "params": {"members": members}},
        "ensemble": {"name": "ensemble", "params": {"members": members}},
    }.items():
        rec = DKLRecommender(sample.image, 8, seed=4, model=spec)
        for _ in range(12):
            (p,) = rec.suggest(1)
            rec.ingest([{"_id": p["_id"], "value": float(truth[p["_id"]])}])
        chosen[key] = [d["_id"] for d in rec.suggest(3)]
        share = rec.last_decision["structure_share"]
        assert share == pytest.approx(rec.model.models[0].structure_share) and 0 < share < 1
    assert chosen["committee"] == chosen["ensemble"]
    c = Committee()
    assert c.spec["name"] == "committee" and set(c.spec["params"]) == {"members", "seed"}
    assert [m["name"] for m in c.spec["params"]["members"]] == ["spatial_dkl", "gp_coords"]
    assert from_spec(c.spec).spec == c.spec
    assert np.isnan(Ensemble(members=["gp_coords", "gp_coords"]).structure_share)
    with pytest.raises(InputDataError, match="list of 2-16 model specs"):
        Committee(members="spatial_dkl")
