"""The seams: what the loop, plans and steering call on a recommender and a stored run."""

from __future__ import annotations

import dataclasses

import numpy as np

from autoscope.protocols import CandidateRecommender, Recommender, Sample, Trace
from autoscope.recommender import DKLRecommender
from autoscope.sim import make_sample
from autoscope.testing import FakeRecommender
from autoscope.trace import ExperimentTrace


def test_recommenders_satisfy_the_protocols():
    image = np.random.default_rng(0).random((12, 12))
    for rec in (DKLRecommender(image, patch_size=4, seed=0), FakeRecommender((6, 6), seed=0)):
        assert isinstance(rec, Recommender) and isinstance(rec, CandidateRecommender)

    # suggest/ingest alone is a Recommender, not a CandidateRecommender
    class Bare:
        def suggest(self, batch_size=1):
            return []

        def ingest(self, points):
            return None

    assert isinstance(Bare(), Recommender) and not isinstance(Bare(), CandidateRecommender)


def test_fake_recommender_replaces_values_like_the_real_one():
    rec = FakeRecommender((4, 4), seed=0)
    pts = rec.suggest(3)
    rec.ingest([{"_id": p["_id"], "value": float(k)} for k, p in enumerate(pts)])
    rec.replace_values([5.0, np.nan, 7.0])
    np.testing.assert_array_equal(rec.values, [5.0, np.nan, 7.0])
    assert rec.measured_ids == [p["_id"] for p in pts]


def test_samples_and_traces_satisfy_the_protocols():
    assert isinstance(make_sample("tiny", shape=(8, 8)), Sample)
    fields = {f.name for f in dataclasses.fields(ExperimentTrace)}
    assert {"uid", "image", "candidates", "measured_ids", "spectra", "axis", "values"} <= fields
    tr = ExperimentTrace(
        **{
            name: np.zeros(0)
            for name in fields
            if name not in {"recommender_config", "interventions", "votes", "start", "stop", "maps"}
        }
        | {"maps": None}
    )
    assert isinstance(tr, Trace)
