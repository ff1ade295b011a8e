"""The models and the recommender on a CUDA device (run where a GPU is present).

CI has no GPU, so these are skipped there; they were run on an NVIDIA H200
(``docs/model.md`` says when and with which result).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autoscope.models import DKL, SpatialDKL

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

FAST = {"n_iter": 60, "warm_iter": 10}


def test_cuda_device_fit_learns(image_data):
    patches, _, y = image_data
    idx = np.random.default_rng(0).permutation(len(y))
    train, test = idx[:80], idx[80:]
    model = DKL(seed=0, n_iter=150, device="cuda")
    assert model.device.type == "cuda"
    model.fit(patches[train], y[train])
    assert all(p.is_cuda for p in model.module.parameters())
    mean, var = model.predict(patches[test])
    assert mean.dtype == np.float64 and (var > 0).all()
    assert np.corrcoef(mean, y[test])[0, 1] > 0.95


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cuda_posterior_matches_cpu_for_the_same_weights(patch_data, dtype):
    x, y = patch_data
    cpu = DKL(seed=1, dtype=dtype, device="cpu", **FAST)
    cpu.fit(x[:40], y[:40])
    gpu = DKL(seed=1, dtype=dtype, device="cuda", **FAST)
    gpu.fit(x[:40], y[:40])  # builds the CUDA module; then give it the CPU weights
    gpu.module.load_state_dict(cpu.module.state_dict())
    xt = gpu._tensor(gpu._transform(x[:40]))
    gpu._y_loc, gpu._y_scale = cpu._y_loc, cpu._y_scale
    gpu._condition(xt, gpu._standardize(y[:40]))
    tol = 1e-3 if dtype == "float32" else 1e-8
    m_cpu, v_cpu = cpu.predict(x[40:])
    m_gpu, v_gpu = gpu.predict(x[40:])
    np.testing.assert_allclose(m_gpu, m_cpu, rtol=tol, atol=tol)
    np.testing.assert_allclose(v_gpu, v_cpu, rtol=100 * tol, atol=tol)
    post, ref = gpu.posterior(x[40:60]), cpu.posterior(x[40:60])
    np.testing.assert_allclose(post.cross_cov([0, 3]), ref.cross_cov([0, 3]), rtol=tol, atol=tol)


def test_same_seed_same_cuda_initialisation_as_cpu(patch_data):
    x, y = patch_data
    a = DKL(seed=3, dtype="float64", device="cpu", n_iter=0)
    b = DKL(seed=3, dtype="float64", device="cuda", n_iter=0)
    a.fit(x[:20], y[:20])
    b.fit(x[:20], y[:20])
    for (name, pa), pb in zip(
        a.module.state_dict().items(), b.module.state_dict().values(), strict=True
    ):
        torch.testing.assert_close(pb.cpu(), pa, msg=name)


def test_pretrained_spatial_dkl_on_cuda():
    rng = np.random.default_rng(0)
    patches = rng.normal(size=(300, 8, 8)).astype("float32")
    pos = rng.integers(0, 64, size=(300, 2)).astype("float32")
    x = np.concatenate([patches.reshape(300, -1), pos], axis=1)
    model = SpatialDKL(seed=0, pretrain_epochs=3, **FAST)
    model.feature_shape = (8, 8)
    model.prepare(x)
    assert len(model.pretrain_losses) == 3 and model.pretrain_losses[-1] < model.pretrain_losses[0]
    model.fit(x[:40], patches[:40, 4, 4].astype(float))
    mean, var = model.predict(x[40:])
    assert np.isfinite(mean).all() and (var > 0).all()


def test_recommender_closed_loop_on_cuda():
    from autoscope.recommender import DKLRecommender
    from autoscope.sim.spm import SPMSample

    sample = SPMSample(shape=(40, 40), seed=0)
    model = {"name": "spatial_dkl", "params": {"device": "cuda", "n_iter": 60}}
    rec = DKLRecommender(sample.image, 8, policy="ei", seed=0, model=model)
    truth = np.random.default_rng(0).normal(size=len(rec.candidates))
    measured = set()
    for _ in range(14):
        (point,) = rec.suggest(1)
        assert point["_id"] not in measured
        measured.add(point["_id"])
        rec.ingest([{"_id": point["_id"], "value": float(truth[point["_id"]])}])
    mean, var = rec.predict()
    assert mean.shape == var.shape == (len(rec.candidates),)
    assert np.isfinite(mean).all() and (var > 0).all()
    assert rec.model.module is not None and next(rec.model.module.parameters()).is_cuda


def test_auto_places_the_committee_s_dkl_on_cuda_from_128x128_only():
    from autoscope.models import Committee

    rng = np.random.default_rng(0)
    for n, want in ((2_401, "cpu"), (12_769, "cuda")):
        x = np.concatenate([rng.normal(size=(n, 16)), rng.uniform(0, 100, (n, 2))], axis=1)
        committee = Committee()
        committee.feature_shape = (4, 4)
        committee.prepare(x.astype(np.float32))
        assert [m.device.type for m in committee.models] == [want, "cpu"]
