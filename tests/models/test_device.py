"""``device="auto"``: CUDA only for neural feature maps on large candidate sets (checked on CPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autoscope.errors import InputDataError
from autoscope.models import DKL, GPCoords, SpatialDKL
from autoscope.models._device import DKL_CUDA_MIN_CANDIDATES, resolve_device
from autoscope.recommender import DKLRecommender


@pytest.fixture
def fake_cuda(monkeypatch):
    """Pretend CUDA is there: the choice is made, nothing is allocated on it."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)


def test_auto_without_cuda_is_always_the_cpu():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert resolve_device("auto", 10**6, DKL_CUDA_MIN_CANDIDATES).type == "cpu"
    model = DKL(seed=0)
    model.prepare(np.zeros((DKL_CUDA_MIN_CANDIDATES, 3), dtype=np.float32))
    assert model.device.type == "cpu"
    with pytest.raises(InputDataError, match="CUDA is not available"):
        DKL(device="cuda")


def test_auto_picks_cuda_by_candidate_count_and_model(fake_cuda):
    assert resolve_device("auto", 2_401, DKL_CUDA_MIN_CANDIDATES).type == "cpu"  # 64 x 64
    assert resolve_device("auto", 12_769, DKL_CUDA_MIN_CANDIDATES).type == "cuda"  # 128 x 128
    assert resolve_device("auto", 62_001, None).type == "cpu"  # a GP on coordinates
    assert resolve_device("cpu", 62_001, DKL_CUDA_MIN_CANDIDATES).type == "cpu"
    assert resolve_device("auto", None, DKL_CUDA_MIN_CANDIDATES).type == "cpu"  # not prepared
    small, big = DKL(seed=0), DKL(seed=0)
    small.prepare(np.zeros((2_401, 3), dtype=np.float32))
    big.prepare(np.zeros((12_769, 3), dtype=np.float32))
    assert (small.device.type, big.device.type) == ("cpu", "cuda")
    coords = GPCoords(seed=0)
    coords.prepare(np.random.default_rng(0).uniform(0, 250, size=(62_001, 2)))
    assert coords.device.type == "cpu"
    pinned = SpatialDKL(seed=0, device="cpu")
    pinned.prepare(np.random.default_rng(0).uniform(0, 250, size=(12_769, 4)))
    assert pinned.device.type == "cpu"


def test_recommender_default_committee_placement_at_128x128(fake_cuda):
    image = np.random.default_rng(0).normal(size=(128, 128))
    rec = DKLRecommender(image, patch_size=16, seed=0)
    model = rec.model
    model.feature_shape = (16, 16)
    model.prepare(rec._inputs(model))  # what the first decision does before training
    assert len(rec.candidates) == 113 * 113
    assert [m.device.type for m in model.models] == ["cuda", "cpu"]
