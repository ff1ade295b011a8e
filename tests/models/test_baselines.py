"""Tests of the baseline models: GP on coordinates, PCA-GP, static DKL, VAE-GP."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autoscope.errors import InputDataError, ModelFittingError
from autoscope.models import PCAGP, VAEGP, GPCoords, StaticDKL
from autoscope.models.baselines import pca


def test_gp_coords_interpolates_a_smooth_field():
    rows, cols = np.meshgrid(np.arange(20), np.arange(20), indexing="ij")
    coords = np.stack([rows.ravel(), cols.ravel()], 1)
    field = np.sin(coords[:, 0] / 4.0) + np.cos(coords[:, 1] / 5.0)
    model = GPCoords(seed=0, n_iter=60)
    model.prepare(coords)
    idx = np.random.default_rng(0).choice(400, 60, replace=False)
    model.fit(coords[idx], field[idx])
    mean, var = model.predict(coords)
    err = np.abs(mean - field)
    assert err.mean() < 0.03 and err.max() < 0.3  # field range is 4
    assert var[idx].max() < var.max()  # less uncertain where measured
    np.testing.assert_allclose(model.embed(coords).max(0), [1.0, 1.0])  # scaled to [0, 1]^2
    with pytest.raises(InputDataError, match=r"\(N, 2\) coordinates"):
        GPCoords().prepare(np.zeros((5, 3)))


def test_noise_prior_holds_the_noise_off_its_floor():
    """A log-normal prior on the noise enters the marginal likelihood that is maximised."""
    coords = np.random.default_rng(1).uniform(0, 30, size=(50, 2))
    field = np.sin(coords[:, 0] / 4.0)  # noise-free: without a prior the noise sinks
    noise = {}
    for prior in (None, (np.log(0.05), 0.05)):
        model = GPCoords(seed=0, n_iter=150, noise_prior=prior)
        model.fit(coords, field)
        noise[prior is None] = float(model.module.likelihood.noise.detach())
        assert model.spec["params"]["noise_prior"] == (None if prior is None else list(prior))
    assert noise[True] < 0.01  # standardised units
    assert 0.04 < noise[False] < 0.06  # the tight prior wins over the data
    for bad in ([1.0], "wide", (0.0, 0.0), (float("nan"), 1.0)):
        with pytest.raises(InputDataError, match="noise_prior"):
            GPCoords(noise_prior=bad)


def test_pca_matches_numpy_and_randomized_path():
    rng = np.random.default_rng(0)
    a = (
        rng.normal(size=(300, 6))
        @ np.diag([5.0, 3.0, 1.0, 0.1, 0.1, 0.1])
        @ np.linalg.qr(rng.normal(size=(6, 6)))[0]
    )
    mean, comps, var = pca(a, 3, rng)
    np.testing.assert_allclose(mean, a.mean(0))
    ev = np.linalg.eigvalsh(np.cov(a.T))[::-1][:3]
    np.testing.assert_allclose(var, ev, rtol=1e-8)
    np.testing.assert_allclose(comps @ comps.T, np.eye(3), atol=1e-10)
    big = rng.normal(size=(2100, 2100)).astype(np.float32)
    big[:, 0] *= 30.0
    _, c_big, v_big = pca(big, 2, rng)  # randomized range finder
    assert abs(abs(c_big[0, 0]) - 1.0) < 1e-2 and v_big[0] > 800


def test_pca_gp_on_patches(image_data):
    patches, _, y = image_data
    model = PCAGP(n_components=4, seed=0)
    model.prepare(patches)
    assert model.explained_variance.shape == (4,)
    assert np.all(np.diff(model.explained_variance) <= 0)
    idx = np.arange(0, len(y), 5)
    model.fit(patches[idx], y[idx])
    mean, _ = model.predict(patches)
    assert np.corrcoef(mean, y)[0, 1] > 0.9
    assert model.embed(patches).shape == (len(y), 4)


@pytest.mark.parametrize("update", ["condition", "head", "none"])
def test_static_dkl_keeps_its_embedding(image_data, update):
    patches, _, y = image_data
    model = StaticDKL(update=update, n_iter=60, warm_iter=10, seed=0)
    model.fit(patches[:15], y[:15])
    z0 = model.embed(patches)
    m0, v0 = model.predict(patches)
    report = model.fit(patches[:60], y[:60])
    np.testing.assert_array_equal(model.embed(patches), z0)  # feature extractor frozen
    m1, v1 = model.predict(patches)
    if update == "none":
        np.testing.assert_array_equal(m1, m0)
        assert report["stale"]
    else:  # the new points are in the posterior: less uncertain there, means moved
        assert v1[15:60].mean() < 0.8 * v0[15:60].mean()
        assert np.abs(m1 - m0).max() > 1e-3
    assert report["iterations"] == (10 if update == "head" else 0)


def test_static_dkl_rejects_unknown_update():
    with pytest.raises(InputDataError, match="update must be one of"):
        StaticDKL(update="sometimes")


def test_vae_gp_latent_space_is_reproducible(image_data):
    patches, _, y = image_data
    state = torch.random.get_rng_state()
    a = VAEGP(latent_dim=2, epochs=5, seed=3)
    b = VAEGP(latent_dim=2, epochs=5, seed=3)
    a.prepare(patches)
    b.prepare(patches)
    assert torch.equal(torch.random.get_rng_state(), state)
    np.testing.assert_array_equal(a.latent(patches), b.latent(patches))
    assert len(a.vae_losses) == 5 and a.vae_losses[-1] < a.vae_losses[0]
    with pytest.raises(ModelFittingError, match="not fitted"):
        a.embed(patches)
    a.fit(patches[:40], y[:40])
    z = a.embed(patches)
    assert z.shape == (len(y), 2)
    assert z.min() >= -1e-6 and z.max() <= 1 + 1e-6
    mean, var = a.predict(patches)
    assert np.isfinite(mean).all() and (var > 0).all()


def test_unprepared_models_prepare_on_the_training_set(image_data):
    patches, _, y = image_data
    model = PCAGP(n_components=3)
    model.fit(patches[:30], y[:30])
    assert model.prepared and model.explained_variance.shape == (3,)
