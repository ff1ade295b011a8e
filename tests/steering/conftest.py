"""Fixtures of the steering tests: a tiny sample, a fast DKL recommender over it, measurements."""

from __future__ import annotations

import numpy as np
import pytest

#: a small, fast DKL
MODEL = {"name": "dkl", "params": {"n_iter": 15, "warm_iter": 3}}


@pytest.fixture
def tiny():
    """A 16 x 16 TinySample (Gaussian blob; one Gaussian peak per spectrum, 64 channels)."""
    from autoscope.testing import TinySample

    return TinySample(shape=(16, 16), seed=0)


@pytest.fixture
def make_rec(tiny):
    """Build a DKLRecommender over the tiny sample (patch 6: 11 x 11 = 121 candidates)."""
    from autoscope.recommender import DKLRecommender

    def make(policy="ei", seed=0, **kw):
        return DKLRecommender(tiny.image, patch_size=6, policy=policy, seed=seed, model=MODEL, **kw)

    return make


@pytest.fixture
def measure(tiny):
    """``measure(rec, session, cid)``: measure the noise-free spectrum, ingest, tell the session."""

    def run(rec, session, cid):
        r, c = (int(v) for v in rec.candidates[cid])
        spectrum = tiny.spectrum(r, c)
        value = session.scalarize(spectrum)
        if np.isfinite(value):
            rec.ingest([{"_id": int(cid), "value": value}])
        session.measured(cid, spectrum, row=r, col=c)
        return value

    return run
