"""Global feature space: PCA / VAE embeddings of every patch and the run's DKL embedding."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from autoscope.errors import InputDataError
from autoscope.replay import FeatureSpaceResult, counterfactual, feature_space
from autoscope.replay.feature_space import embed_patches


def test_pca_embedding_and_trajectory(tiny_trace):
    fs = feature_space(tiny_trace, "pca")
    n_cand = len(tiny_trace.candidates)
    assert isinstance(fs, FeatureSpaceResult) and fs.method == "pca"
    assert fs.embedding.shape == (n_cand, 2)
    np.testing.assert_array_equal(fs.trajectory, fs.embedding[tiny_trace.measured_ids])
    # the projection is the centred patches on their top-2 principal directions
    flat = tiny_trace.patches().reshape(n_cand, -1).astype(float)
    cov = np.cov(flat - flat.mean(axis=0), rowvar=False)
    top = np.sort(np.linalg.eigvalsh(cov))[::-1][:2]
    np.testing.assert_allclose(fs.embedding.var(axis=0, ddof=1), top, rtol=1e-6)
    assert fs.info["explained"][0] >= fs.info["explained"][1] > 0
    assert abs(np.corrcoef(fs.embedding.T)[0, 1]) < 1e-6  # uncorrelated components
    np.testing.assert_array_equal(fs.values, tiny_trace.values)


def test_dkl_embedding_of_the_run(tiny_trace):
    fs = feature_space(tiny_trace, "pca")
    d = fs.dkl_embedding
    assert d is not None and d.shape[0] == len(tiny_trace.candidates) and d.shape[1] >= 1
    assert np.isfinite(d).all() and fs.dkl_mean.shape == (len(tiny_trace.candidates),)
    assert fs.dkl_trajectory.shape == (12, d.shape[1])
    # the exact final model of the run (own replay) gives its own embedding
    cf = counterfactual(tiny_trace)
    exact = feature_space(tiny_trace, "pca", recommender=cf.recommender)
    np.testing.assert_allclose(exact.dkl_embedding, cf.recommender.embed())
    fig = exact.figure()
    assert isinstance(fig, Figure) and len(fig.axes) == 4  # two panels + colorbars


def test_vae_embedding(tiny_trace):
    fs = feature_space(tiny_trace, "vae", dkl=False, epochs=15)
    assert fs.embedding.shape == (len(tiny_trace.candidates), 2) and np.isfinite(fs.embedding).all()
    assert fs.dkl_embedding is None and fs.dkl_trajectory is None
    losses = fs.info["losses"]
    assert len(losses) == 15 and losses[-1] < losses[0]
    again = feature_space(tiny_trace, "vae", dkl=False, epochs=15)
    np.testing.assert_array_equal(fs.embedding, again.embedding)  # seeded


def test_embed_patches_validation():
    with pytest.raises(InputDataError, match="method must be one of"):
        embed_patches(np.zeros((4, 3, 3)), "tsne")
    with pytest.raises(InputDataError, match=">= 2 finite patches"):
        embed_patches(np.zeros((1, 3, 3)), "pca")
    z, info = embed_patches(np.arange(8.0).reshape(4, 2, 1), "pca")
    assert z.shape == (4, 2) and info["explained"][0] == pytest.approx(1.0)


def test_figure_projects_a_wider_dkl_embedding_on_its_principal_axes(tiny_trace):
    fs = feature_space(tiny_trace, "pca", dkl=False)
    rng = np.random.default_rng(0)
    n = len(tiny_trace.candidates)
    fs.dkl_embedding = rng.normal(size=(n, 4)) * np.array([3.0, 0.1, 2.0, 0.1])
    fs.dkl_mean = np.zeros(n)
    fig = fs.figure()
    (ax,) = [a for a in fig.axes if "DKL" in a.get_title()]
    assert "4-D DKL embedding, PCA" in ax.get_title()
    grey = ax.collections[0].get_offsets()
    # the panel shows the two high-variance directions, not the first two columns
    np.testing.assert_allclose(np.sort(grey.var(axis=0))[::-1], [9.0, 4.0], rtol=0.2)
