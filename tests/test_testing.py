"""The test fakes: TinySample, FakeRecommender, DocumentRecorder, assert_stored_equal."""

from __future__ import annotations

import json

import numpy as np
import pytest

from autoscope.errors import InputDataError, NoRecommendation
from autoscope.protocols import Recommender, Sample
from autoscope.testing import DocumentRecorder, FakeRecommender, TinySample, assert_stored_equal


# -- TinySample -------------------------------------------------------------------------
def test_tiny_sample_contract_and_determinism():
    s = TinySample(seed=4)
    assert isinstance(s, Sample) and s.kind == "tiny"
    assert s.image.shape == (24, 24) and s.axis.shape == (64,) and s.spectrum_shape == (64,)
    assert s.image.max() <= 1.0 and s.image.min() > 0.0
    np.testing.assert_array_equal(s.image, TinySample(seed=4).image)
    assert not np.array_equal(s.image, TinySample(seed=5).image)
    d = json.loads(json.dumps(s.describe()))
    assert d["kind"] == "tiny" and d["params"] == {"length": 64, "noise": 0.01, "channels": 1}


def test_tiny_sample_truth_is_the_analytic_peak_position():
    s = TinySample(shape=(16, 20), seed=1)
    truth = s.truth(s.default_scalarizer)
    assert truth.shape == (16, 20)
    np.testing.assert_allclose(truth, s.peak_position(), atol=1e-6)
    np.testing.assert_allclose(s.peak_position(), 3.0 + 4.0 * s.image)
    r, c = np.unravel_index(np.argmax(s.image), s.image.shape)
    spec = s.spectrum(r, c)
    assert s.axis[np.argmax(spec)] == pytest.approx(s.peak_position()[r, c], abs=0.08)


def test_tiny_sample_noise_has_the_stated_std():
    s = TinySample(seed=0, noise=0.05)
    rng = np.random.default_rng(0)
    resid = np.stack([s.measure(3, 4, rng) - s.spectrum(3, 4) for _ in range(200)])
    assert resid.std() == pytest.approx(0.05, rel=0.03)
    a = s.measure(3, 4, np.random.default_rng(9))
    np.testing.assert_array_equal(a, s.measure(3, 4, np.random.default_rng(9)))


def test_tiny_sample_two_channels():
    s = TinySample(seed=0, channels=2)
    assert s.image.shape == (24, 24, 2) and s.channels == ("blob", "inverse")
    np.testing.assert_allclose(s.image[..., 0] + s.image[..., 1], 1.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"shape": (3, 24)}, "shape"),
        ({"noise": float("nan")}, "noise"),
        ({"noise": -0.1}, "noise"),
        ({"length": 4}, "length"),
        ({"channels": 3}, "channels"),
    ],
)
def test_tiny_sample_bad_parameters(kwargs, match):
    with pytest.raises(InputDataError, match=match):
        TinySample(**kwargs)


# -- FakeRecommender --------------------------------------------------------------------
def test_fake_recommender_protocol_and_candidates():
    rec = FakeRecommender((4, 5), seed=0)
    assert isinstance(rec, Recommender)
    assert rec.candidates.shape == (20, 2)
    np.testing.assert_array_equal(rec.candidates[7], [1, 2])
    assert FakeRecommender(3).candidates.tolist() == [[0, 0], [0, 1], [0, 2]]
    explicit = FakeRecommender(np.array([[5, 6], [7, 8]]))
    assert explicit.candidates.tolist() == [[5, 6], [7, 8]]
    mean, var = rec.predict()
    assert mean.shape == var.shape == (20,) and (mean == 0).all() and (var == 1).all()
    assert rec.config == {"name": "fake", "seed": 0, "n_candidates": 20}


def test_fake_recommender_is_deterministic_and_never_repeats_ingested():
    a, b = FakeRecommender((4, 4), seed=3), FakeRecommender((4, 4), seed=3)
    seen = []
    for _ in range(16):
        pa, pb = a.suggest(1), b.suggest(1)
        assert pa == pb
        (p,) = pa
        assert p["_id"] not in seen
        assert (p["row"], p["col"]) == tuple(a.candidates[p["_id"]])
        seen.append(p["_id"])
        a.ingest([{"_id": p["_id"], "value": float(p["_id"])}])
        b.ingest([{"_id": p["_id"], "value": float(p["_id"])}])
        assert a.last_decision["_id"] == p["_id"]
    assert sorted(seen) == list(range(16)) and a.should_stop()
    assert a.measured_ids == seen and np.isneginf(a.acquisition()).all()
    with pytest.raises(NoRecommendation):
        a.suggest(1)


def test_fake_recommender_batches_are_distinct():
    rec = FakeRecommender(10, seed=1)
    rec.ingest([{"_id": 0, "value": 1.0}, {"_id": 1, "value": 2.0}])
    ids = [p["_id"] for p in rec.suggest(8)]
    assert sorted(ids) == list(range(2, 10))
    assert len(rec.suggest(50)) == 8  # only what is left


@pytest.mark.parametrize(
    "points, match",
    [
        ([{"_id": 20, "value": 1.0}], "not in"),
        ([{"_id": 1.0, "value": 1.0}], "int"),
        ([{"_id": 1, "value": float("nan")}], "finite"),
        ([{"value": 1.0}], "'_id' and 'value'"),
    ],
)
def test_fake_recommender_rejects_bad_points(points, match):
    rec = FakeRecommender(20)
    with pytest.raises(InputDataError, match=match):
        rec.ingest([{"_id": 0, "value": 0.0}, *points])
    assert rec.ingested == []  # nothing ingested from a bad batch


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_fake_recommender_rejects_bad_batch_size(bad):
    with pytest.raises(InputDataError, match="batch_size"):
        FakeRecommender(5).suggest(bad)


@pytest.mark.parametrize("bad", [0, np.zeros((3, 3), int), np.zeros((4, 2)), "x"])
def test_fake_recommender_rejects_bad_candidates(bad):
    with pytest.raises(InputDataError):
        FakeRecommender(bad)


# -- DocumentRecorder / assert_stored_equal ---------------------------------------------
class _Node(dict):
    def read(self):
        return self["value"]


class _Run(dict):
    def __init__(self, metadata, streams):
        super().__init__(streams)
        self.metadata = metadata


def _docs(values):
    start = {"uid": "run1"}
    desc = {"uid": "d1", "run_start": "run1", "name": "primary"}
    events = [
        {"descriptor": "d1", "seq_num": i + 1, "data": {"x": v}} for i, v in enumerate(values)
    ]
    stop = {"run_start": "run1", "exit_status": "success", "num_events": {"primary": len(values)}}
    return (
        [("start", start), ("descriptor", desc)] + [("event", e) for e in events] + [("stop", stop)]
    )


def test_recorder_splits_runs_and_copies():
    rec = DocumentRecorder()
    for name, doc in _docs([1.0, 2.0]):
        rec(name, doc)
    doc = {"uid": "run2"}
    rec("start", doc)
    doc["uid"] = "changed"
    assert rec.names[:3] == ["start", "descriptor", "event"]
    assert sorted(rec.runs()) == ["run1", "run2"] and len(rec.runs()["run1"]) == 5


def test_assert_stored_equal_detects_differences():
    docs = _docs([np.array([1.0, 2.0]), np.array([3.0, 4.0])])
    md = {"start": {"uid": "run1"}, "stop": dict(docs[-1][1])}
    good = _Run(md, {"primary": {"x": _Node(value=np.array([[1.0, 2.0], [3.0, 4.0]]))}})
    assert_stored_equal(good, docs)
    bad = _Run(md, {"primary": {"x": _Node(value=np.array([[1.0, 2.0], [3.0, 4.5]]))}})
    with pytest.raises(AssertionError, match="primary/x: stored values differ"):
        assert_stored_equal(bad, docs)
    short = _Run(md, {"primary": {"x": _Node(value=np.array([[1.0, 2.0]]))}})
    with pytest.raises(AssertionError, match="shape"):
        assert_stored_equal(short, docs)
    md_bad = {"start": {"uid": "run1"}, "stop": {**md["stop"], "exit_status": "abort"}}
    with pytest.raises(AssertionError, match="exit_status"):
        assert_stored_equal(_Run(md_bad, good), docs)
