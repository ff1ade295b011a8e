"""dkl_explore(batch_size=q): q points per decision, one decisions event each, replayed exactly."""

from __future__ import annotations

import numpy as np
import pytest

from autoscope import plans, trace
from autoscope.errors import ModelFittingError
from autoscope.recommender.batch import BatchSession
from autoscope.replay import counterfactual
from autoscope.testing import FakeRecommender

CENTROID = {"name": "centroid", "params": {"low": 0.0, "high": 10.0}}
FAST_DKL = {"name": "dkl", "params": {"n_iter": 20, "warm_iter": 5}}


def _explore(**kw):
    from autoscope.devices.sim import SimMicroscope
    from autoscope.testing import TinySample

    mic = SimMicroscope(TinySample(shape=(16, 16), seed=0), seed=0)
    return plans.dkl_explore(mic, CENTROID, "ei", n_seed=4, patch_size=6, seed=1,
                             model=FAST_DKL, **kw)  # fmt: skip


@pytest.fixture(scope="module")
def batched(module_catalog, runner):
    """A 14-point run in batches of 4 (4 seeds, then 4 + 4 + 2), stored and loaded."""
    uid, col = runner(_explore(budget=14, batch_size=4), module_catalog)
    return trace.load(uid, module_catalog), col


@pytest.fixture(scope="module")
def single(module_catalog, runner):
    """The same run, one point per decision."""
    uid, _ = runner(_explore(budget=14), module_catalog)
    return trace.load(uid, module_catalog)


def test_stored_trace_equals_what_the_plan_emitted(batched, trace_matches):
    tr, col = batched
    trace_matches(tr, col)
    assert tr.specs["batch_size"] == 4 and tr.specs["overlap"] is False


def test_one_decision_per_point_sharing_a_batch_index(batched):
    tr, _ = batched
    assert tr.n_measured == 14 == len(set(tr.measured_ids)) and tr.stop["reason"] == "budget"
    made = [d for d in tr.decisions if d["chosen_id"] >= 0]
    assert [d["step"] for d in made] == list(range(4, 14))
    # the last batch is cut to the budget
    assert [d["batch"] for d in made] == [0] * 4 + [1] * 4 + [2] * 2
    # a batch is decided knowing every earlier value, its own points unknown
    assert [d["n_known"] for d in made] == [4] * 4 + [8] * 4 + [12] * 2
    assert all(d["pending_ids"] == "" for d in made)
    assert tr.chosen_ids == tr.measured_ids[4:]
    # one suggestion: the batch shares its timing, each point has its own prediction
    for b in range(3):
        group = [d for d in made if d["batch"] == b]
        assert len({d["t_total"] for d in group}) == 1
        assert len({d["acq_value"] for d in group}) == len(group)


def test_batch_starts_where_a_single_decision_would(batched, single):
    tr, _ = batched
    # the same seeds and data: the first point of the first batch is the q = 1 choice,
    # the rest differ from q = 1's next choices (those knew the first point's value)
    assert tr.measured_ids[:5] == single.measured_ids[:5]
    assert tr.measured_ids[5:8] != single.measured_ids[5:8]


def test_replay_reproduces_every_choice_of_a_batch_run(batched):
    tr, _ = batched
    cf = counterfactual(tr)
    assert cf.chosen_ids == tr.chosen_ids and cf.agreement == 1.0
    stored = [d for d in tr.decisions if d["chosen_id"] >= 0]
    np.testing.assert_array_equal(cf.acq_values, [d["acq_value"] for d in stored])
    np.testing.assert_array_equal(cf.pred_std, [d["pred_std"] for d in stored])


def test_overlapped_batches_replay_too(module_catalog, runner):
    uid, _ = runner(_explore(budget=12, batch_size=3, overlap=True), module_catalog)
    tr = trace.load(uid, module_catalog)
    made = [d for d in tr.decisions if d["chosen_id"] >= 0]
    assert [d["batch"] for d in made] == [0] * 3 + [1] * 3 + [2] * 2
    # batch 0 was decided while the last seed was measured, batch 1 while batch 0 was measured
    assert {(d["n_known"], d["pending_ids"]) for d in made[:3]} == {(3, str(tr.measured_ids[3]))}
    assert {d["n_known"] for d in made[3:6]} == {4}
    assert {d["pending_ids"] for d in made[3:6]} == {",".join(map(str, tr.measured_ids[4:7]))}
    assert counterfactual(tr).chosen_ids == tr.chosen_ids


class Failing(FakeRecommender):
    def suggest(self, batch_size=1):
        raise ModelFittingError("no fit")


def test_a_failing_recommender_gives_a_random_batch():
    session = BatchSession(Failing(20), 20, 10, seed_ids=[0, 1])
    for _ in range(2):
        step = session.next_batch(4)[0]
        session.record(step.chosen_id, 1.0)
    steps = session.next_batch(4)
    ids = [s.chosen_id for s in steps]
    assert len(ids) == 4 == len(set(ids)) and not {0, 1} & set(ids)
    assert [s.index for s in steps] == [2, 3, 4, 5]
    assert all(s.fields["fallback"] == 1 and "no fit" in s.fields["reason"] for s in steps)
    for i in ids:
        session.record(i, 1.0)
    # 4 left in the budget, then the stop
    assert len(session.next_batch(8)) == 4
    assert session.next_batch(8)[0].reason == "budget"


def test_a_batch_of_one_is_a_plain_decision():
    a = BatchSession(FakeRecommender(30, seed=2), 30, 6)
    b = BatchSession(FakeRecommender(30, seed=2), 30, 6)
    for _ in range(3):
        (sa,), sb = a.next_batch(1), b.next()
        assert sa.chosen_id == sb.chosen_id
        a.record(sa.chosen_id, 0.5)
        b.record(sb.chosen_id, 0.5)


def test_another_policy_replays_along_the_batch_path(batched):
    tr, _ = batched
    cf = counterfactual(tr, policy="ucb")
    assert not cf.own and cf.actual_ids.tolist() == tr.chosen_ids
    made = [d for d in tr.decisions if d["chosen_id"] >= 0]
    for c, d in zip(cf.chosen_ids, made, strict=True):  # never a point known at the decision
        assert c is not None and c not in tr.measured_ids[: d["n_known"]]
    for b in range(3):  # a batch's replayed points are distinct
        group = [c for c, d in zip(cf.chosen_ids, made, strict=True) if d["batch"] == b]
        assert len(group) == len(set(group))
