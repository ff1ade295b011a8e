"""A 256 x 256 image (58,081 candidates): the fast path stays exact and the process under 2 GB."""

from __future__ import annotations

import resource
import sys

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from autoscope.recommender import DKLRecommender

pytestmark = pytest.mark.slow

SMALL = {"n_iter": 20, "warm_iter": 5}


def test_256x256_committee_conditions_in_place_within_2_gb():
    rng = np.random.default_rng(0)
    image = gaussian_filter(rng.normal(size=(256, 256)), 2.0)
    members = [{"name": "spatial_dkl", "params": SMALL}, {"name": "gp_coords", "params": SMALL}]
    rec = DKLRecommender(
        image, 16, "ei", 0, model={"name": "committee", "params": {"members": members,
                                                                    "refit_every": 10}}
    )  # fmt: skip
    assert len(rec.candidates) == 241 * 241
    truth = np.sin(rec.candidates[:, 0] / 30.0) + np.cos(rec.candidates[:, 1] / 40.0)
    seeds = rng.choice(len(truth), 10, replace=False)
    rec.ingest([{"_id": int(i), "value": float(truth[i])} for i in seeds])
    updates = []
    for _ in range(4):
        cid = rec.suggest(1)[0]["_id"]
        updates.append(rec.last_decision["update"])
        rec.ingest([{"_id": cid, "value": float(truth[cid])}])
    assert updates == ["train", "condition", "condition", "condition"]
    inputs = rec._inputs(rec.model)
    cached = rec.model.posterior(inputs)  # the cache, extended three times ...
    fresh = rec.model.posterior(inputs.copy())  # ... equals a rebuild from scratch
    np.testing.assert_allclose(cached.mean, fresh.mean, rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(cached.var, fresh.var, rtol=2e-2, atol=2e-3)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_mb = peak / 2**20 if sys.platform == "darwin" else peak / 1024
    assert peak_mb < 2048
