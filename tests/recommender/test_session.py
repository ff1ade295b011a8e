"""The exploration session: seeds, stop rules, failed points, fallbacks, forced points."""

from __future__ import annotations

import numpy as np
import pytest

from autoscope.errors import InputDataError, ModelFittingError, NoRecommendation
from autoscope.recommender import ExplorationSession
from autoscope.testing import FakeRecommender

N = 30


class Scripted(FakeRecommender):
    """A FakeRecommender that logs every call and can be told to fail or misbehave."""

    def __init__(self, n=N, seed=0):
        super().__init__(n, seed=seed)
        self.calls: list[tuple] = []
        self.fail_next = 0
        self.bad_next: list[int] | None = None
        self.stop_with: str | None = None
        self.pending_ids: set[int] = set()
        self.excluded: list[int] = []

    @property
    def pending(self):
        return sorted(self.pending_ids)

    def clear_pending(self):
        self.calls.append(("clear_pending",))
        self.pending_ids.clear()

    def exclude(self, ids):
        self.calls.append(("exclude", list(ids)))
        self.excluded.extend(ids)

    def suggest(self, batch_size=1):
        self.calls.append(("suggest", batch_size))
        if self.fail_next:
            self.fail_next -= 1
            raise ModelFittingError("Cholesky failed: not positive definite")
        if self.bad_next is not None:
            bad, self.bad_next = self.bad_next, None
            return [{"_id": i} for i in bad]
        pts = super().suggest(batch_size)
        self.pending_ids.update(p["_id"] for p in pts)
        return pts

    def ingest(self, points):
        self.calls.append(("ingest", [(p["_id"], p["value"]) for p in points]))
        super().ingest(points)
        self.pending_ids.difference_update(p["_id"] for p in points)

    def should_stop(self):
        return self.stop_with


def run(session, values=lambda cid: float(cid)):
    """Drive a session to its end; return (steps, final step)."""
    steps = []
    while not (step := session.next()).stop:
        steps.append(step)
        session.record(step.chosen_id, values(step.chosen_id))
    return steps, step


def test_seeds_come_first_in_order_without_asking_the_recommender():
    rec = Scripted()
    s = ExplorationSession(rec, N, budget=8, seed_ids=[4, 2, 9])
    for cid in (4, 2, 9):
        assert s.seeding
        step = s.next()
        assert (step.chosen_id, step.phase, step.index) == (cid, "seed", s.step - 1)
        s.record(cid, 1.0)
    assert not s.seeding and not any(c[0] == "suggest" for c in rec.calls)
    steps, final = run(s)
    assert [st.phase for st in steps] == ["dkl"] * 5
    assert final.reason == "budget" and final.exit_status == "success" and final.index == 8
    assert len(set(s.measured)) == 8 and s.measured[:3] == [4, 2, 9]
    assert final.fields["t_ingest"] >= 0


def test_decision_fields_carry_what_the_decisions_stream_needs():
    rec = Scripted()
    s = ExplorationSession(rec, N, budget=3, seed_ids=[0])
    s.record(s.next().chosen_id, 0.5)
    step = s.next(inspect=lambda: {"mean_map": np.zeros(N)})
    assert step.fields["chosen_id"] == step.chosen_id == step.suggested
    assert step.fields["fallback"] == 0 and step.fields["reason"] == ""
    assert step.fields["pred_std"] == 1.0 and step.fields["t_total"] >= 0
    assert step.fields["mean_map"].shape == (N,)
    assert s.outstanding == [step.chosen_id]


def test_failed_points_are_kept_never_trained_and_never_measured_again():
    rec = Scripted()  # refuses NaN, as FakeRecommender does
    bad = {3, 5, 7, 11, 13, 17, 19, 23}
    s = ExplorationSession(rec, N, budget=N + 5, seed_ids=[3, 5], max_failures=None)
    steps, final = run(s, lambda c: np.nan if c in bad else np.inf if c == 29 else 1.0)
    assert final.reason == "all candidates measured"
    assert sorted(s.measured) == list(range(N))  # each once, failed ones included
    assert set(s.failed) == bad | {29}  # NaN and inf
    assert np.isnan(s.values[s.measured.index(3)]) and np.isinf(s.values[s.measured.index(29)])
    assert set(rec.measured_ids) == set(range(N)) - bad - {29}
    # the recommender refused NaN, so the session asked for one more point per refusal
    sizes = [c[1] for c in rec.calls if c[0] == "suggest"]
    assert max(sizes) > 1


def test_absurd_values_are_failed_points_not_errors():
    rec = Scripted()
    s = ExplorationSession(rec, N, budget=6, seed_ids=[0, 1], max_failures=None)
    steps, final = run(s, lambda c: 1e300 if c == 1 else -2e150 if c % 2 else 1.0)
    assert final.reason == "budget" and 1 in s.failed
    assert all(abs(v) <= 1e50 for _, v in [(p["_id"], p["value"]) for p in rec.ingested])


def test_failed_points_reach_a_recommender_that_takes_nan():
    from autoscope.recommender import DKLRecommender

    rec = DKLRecommender.from_features(
        np.random.default_rng(0).normal(size=(N, 3)), model="gp_coords",
        coords=np.stack([np.arange(N) // 6, np.arange(N) % 6], axis=1), seed=0,
    )  # fmt: skip
    s = ExplorationSession(rec, N, budget=10, seed_ids=[0, 1, 2, 3])
    steps, final = run(s, lambda c: np.nan if c in (1, 2) else float(c % 7))
    assert final.reason == "budget" and len(set(s.measured)) == 10
    assert rec.measured_ids == s.measured  # NaN recorded by the recommender ...
    ids, y = rec._model.train_data(np.random.default_rng(0))
    assert 1 not in ids and 2 not in ids and len(y) == 8  # ... but never trained on


@pytest.mark.parametrize("k", [1, 3])
def test_consecutive_failures_stop_the_run_as_a_detector_failure(k):
    rec = Scripted()
    s = ExplorationSession(rec, N, budget=20, seed_ids=[0, 1], max_failures=k)
    steps, final = run(s, lambda c: np.nan)
    assert final.reason == "detector" and final.exit_status == "fail"
    assert len(s.measured) == k and s.consecutive_failures == k


def test_a_good_value_resets_the_failure_count():
    rec = Scripted()
    s = ExplorationSession(rec, N, budget=12, seed_ids=[0], max_failures=3)
    pattern = iter([np.nan, np.nan, 1.0] * 10)
    steps, final = run(s, lambda c: next(pattern))
    assert final.reason == "budget" and len(s.failed) == 8


def test_dead_detector_stops_during_the_seeds():
    s = ExplorationSession(Scripted(), N, budget=20, seed_ids=list(range(10)), max_failures=4)
    steps, final = run(s, lambda c: np.nan)
    assert final.reason == "detector" and [st.phase for st in steps] == ["seed"] * 4


def test_a_failing_recommender_gives_a_recorded_random_fallback():
    rec = Scripted()
    s = ExplorationSession(rec, N, budget=6, seed_ids=[0, 1], rng=np.random.default_rng(5))
    for _ in range(2):
        s.record(s.next().chosen_id, 1.0)
    rec.fail_next = 1
    step = s.next()
    assert step.suggested is None and step.chosen_id not in (0, 1)
    assert step.fields["fallback"] == 1 and "not positive definite" in step.fields["reason"]
    s.record(step.chosen_id, 2.0)
    rec.bad_next = [0, 1, N + 4]  # measured twice or unknown: never used
    step = s.next()
    assert step.suggested is None and step.chosen_id not in (0, 1, N + 4)
    assert "no new candidate" in step.fields["reason"]


def test_forced_points_ask_the_model_then_withdraw_its_suggestion():
    rec = Scripted()
    s = ExplorationSession(rec, N, budget=5, seed_ids=[0])
    s.record(s.next().chosen_id, 1.0)
    s.force(0, "operator")  # already measured: skipped
    s.force(17, "boars")
    step = s.next()
    assert (step.chosen_id, step.phase) == (17, "forced")
    assert step.fields["fallback"] == 1 and step.fields["reason"] == "forced by boars"
    assert ("suggest", 1) in rec.calls
    if step.suggested != 17:
        assert ("clear_pending",) in rec.calls and step.fields["acq_value"] is None
    s.record(17, 3.0)
    assert rec.pending == [] and s.outstanding == []


def test_a_replayed_path_that_differs_withdraws_the_suggestion():
    rec = Scripted()
    s = ExplorationSession(rec, N, budget=5, seed_ids=[0])
    s.record(s.next().chosen_id, 1.0)
    step = s.next()
    other = next(i for i in range(N) if i not in (0, step.chosen_id))
    n_clear = rec.calls.count(("clear_pending",))
    s.record(other, 2.0)
    assert rec.calls.count(("clear_pending",)) == n_clear + 1
    assert s.outstanding == [] and s.measured == [0, other]


def test_operator_stop_and_recommender_criterion():
    rec = Scripted()
    s = ExplorationSession(rec, N, budget=20, seed_ids=[0])
    s.record(s.next().chosen_id, 1.0)
    rec.stop_with = "uncertainty"
    assert s.next().reason == "stopping criterion: uncertainty"
    follow = ExplorationSession(rec, N, budget=20, seed_ids=[1], follow_criterion=False)
    follow.record(follow.next().chosen_id, 1.0)
    step = follow.next()
    assert not step.stop and step.would_stop == "uncertainty"
    follow.request_stop("seen enough")
    assert follow.next().reason == "seen enough"


def test_no_recommendation_ends_the_session():
    class Empty(Scripted):
        def suggest(self, batch_size=1):
            raise NoRecommendation("nothing left")

    s = ExplorationSession(Empty(), N, budget=10, seed_ids=[0])
    s.record(s.next().chosen_id, 1.0)
    assert s.next().reason == "no recommendation"


def test_overlap_two_outstanding_suggestions():
    rec = Scripted()
    s = ExplorationSession(rec, N, budget=6, seed_ids=[0])
    s.record(s.next().chosen_id, 1.0)
    a, b = s.next(), s.next()  # decide the next point while the current one is measured
    assert a.chosen_id != b.chosen_id and s.outstanding == [a.chosen_id, b.chosen_id]
    assert s.step == 3
    s.record(a.chosen_id, 1.0)
    s.record(b.chosen_id, 2.0)
    assert s.outstanding == [] and s.measured == [0, a.chosen_id, b.chosen_id]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"budget": -1}, "budget must be"),
        ({"seed_ids": [1, 1]}, "seed ids must be distinct"),
        ({"seed_ids": [N]}, "seed id must be"),
        ({"max_failures": 0}, "max_failures must be"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    args = {"budget": 5, **kwargs}
    with pytest.raises(InputDataError, match=message):
        ExplorationSession(Scripted(), N, **args)


def test_an_unknown_candidate_is_refused():
    s = ExplorationSession(Scripted(), N, budget=5, seed_ids=[0])
    s.next()
    with pytest.raises(InputDataError, match="candidate id must be"):
        s.record(N, 1.0)


def _truth(cid):
    return float(np.sin(cid / 3.0) + 0.1 * (cid % 5))


def _gp_rec():
    from autoscope.recommender import DKLRecommender

    image = np.random.default_rng(3).normal(size=(12, 12))
    return DKLRecommender(image, patch_size=3, model="gp_coords", seed=4)


def test_catch_up_resumes_a_run_where_it_left_off():
    rec = _gp_rec()
    n = len(rec.candidates)
    whole = ExplorationSession(rec, n, budget=14, seed_ids=[5, 40, 77])
    run(whole, lambda c: np.nan if c == 40 else _truth(c))
    # the run "crashed" after 8 measurements: a new recommender and session catch up, go on
    fresh = _gp_rec()
    resumed = ExplorationSession(fresh, n, budget=14, seed_ids=[5, 40, 77])
    taken = resumed.catch_up(whole.measured[:8], whole.values[:8])
    assert [t.phase for t in taken] == ["seed"] * 3 + ["dkl"] * 5
    assert [t.suggested for t in taken[3:]] == whole.measured[3:8]
    assert resumed.failed == [40] and fresh.measured_ids == whole.measured[:8]
    steps, final = run(resumed, lambda c: np.nan if c == 40 else _truth(c))
    assert resumed.measured == whole.measured  # the same decisions, none measured twice
    assert final.reason == "budget" and len(set(resumed.measured)) == 14


def test_catch_up_refuses_a_path_past_the_stop():
    s = ExplorationSession(Scripted(), N, budget=3, seed_ids=[0])
    with pytest.raises(InputDataError, match="goes on after this session stops"):
        s.catch_up([0, 1, 2, 3], [1.0] * 4)
    with pytest.raises(InputDataError, match="one value per measured id"):
        ExplorationSession(Scripted(), N, budget=3).catch_up([0], [])
