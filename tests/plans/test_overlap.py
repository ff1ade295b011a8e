"""dkl_explore(overlap=True): the next decision is computed while the current point is measured."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

from autoscope import plans, trace
from autoscope.errors import InputDataError
from autoscope.replay import counterfactual
from autoscope.testing import FakeRecommender

CENTROID = {"name": "centroid", "params": {"low": 0.0, "high": 10.0}}
FAST_DKL = {"name": "dkl", "params": {"n_iter": 20, "warm_iter": 5}}


def _mic(dwell=0.0):
    from autoscope.devices.sim import SimMicroscope
    from autoscope.testing import TinySample

    return SimMicroscope(TinySample(shape=(16, 16), seed=0), seed=0, dwell=dwell)


def _explore(mic, **kw):
    return plans.dkl_explore(mic, CENTROID, "ei", budget=kw.pop("budget", 14), n_seed=4,
                             patch_size=6, seed=1, model=FAST_DKL, **kw)  # fmt: skip


@pytest.fixture(scope="module")
def overlapped(module_catalog, runner):
    """A 14-point overlapped EI run (4 seeds) with the real DKL recommender, stored and loaded."""
    uid, col = runner(_explore(_mic(), overlap=True), module_catalog)
    return trace.load(uid, module_catalog), col


def test_stored_trace_equals_what_the_plan_emitted(overlapped, trace_matches):
    tr, col = overlapped
    trace_matches(tr, col)
    assert tr.specs["overlap"] is True and tr.specs["batch_size"] == 1


def test_each_decision_knew_all_but_the_point_being_measured(overlapped):
    tr, _ = overlapped
    ids = tr.measured_ids
    assert len(ids) == 14 == len(set(ids)) and tr.stop["reason"] == "budget"
    made = [d for d in tr.decisions if d["chosen_id"] >= 0]
    assert [d["step"] for d in made] == list(range(4, 14))
    assert [d["batch"] for d in made] == list(range(10))
    # every decision ran while the previous point was measured (the first one during the last
    # seed): it knew every earlier value, and the point in flight was pending
    for d in made:
        assert d["n_known"] == d["step"] - 1
        assert d["pending_ids"] == str(ids[d["step"] - 1])
    assert tr.decisions[-1]["chosen_id"] == -1 and tr.decisions[-1]["n_known"] == 14


def test_replay_reproduces_every_choice_of_an_overlapped_run(overlapped):
    tr, _ = overlapped
    cf = counterfactual(tr)
    assert cf.own and cf.chosen_ids == tr.chosen_ids and cf.agreement == 1.0
    stored = [d for d in tr.decisions if d["chosen_id"] >= 0]
    np.testing.assert_array_equal(cf.acq_values, [d["acq_value"] for d in stored])
    np.testing.assert_array_equal(cf.pred_mean, [d["pred_mean"] for d in stored])


def test_plain_run_records_full_knowledge(module_catalog, runner):
    uid, _ = runner(_explore(_mic(), budget=8), module_catalog)
    tr = trace.load(uid, module_catalog)
    made = [d for d in tr.decisions if d["chosen_id"] >= 0]
    assert [(d["n_known"], d["pending_ids"]) for d in made] == [(s, "") for s in range(4, 8)]
    assert "overlap" not in tr.specs and "batch_size" not in tr.specs
    assert counterfactual(tr).chosen_ids == tr.chosen_ids


class SlowRecommender(FakeRecommender):
    """A fake that takes ``delay`` seconds per suggestion, in the thread that asks."""

    delay = 0.5

    def __init__(self, candidates, seed=0):
        super().__init__(candidates, seed=seed)
        self.threads: set[str] = set()

    def suggest(self, batch_size=1):
        self.threads.add(threading.current_thread().name)
        time.sleep(self.delay)
        return super().suggest(batch_size)


def _run_with_heartbeat(plan):
    """Run ``plan``; return (wall time, the longest stall of the RunEngine's event loop)."""
    from bluesky import RunEngine

    loop = asyncio.new_event_loop()
    engine = RunEngine({}, loop=loop, call_returns_result=False)
    ticks: list[float] = []

    def beat():
        ticks.append(time.perf_counter())
        loop.call_later(0.01, beat)

    try:
        loop.call_soon_threadsafe(beat)
        t0 = time.perf_counter()
        engine(plan)
        wall = time.perf_counter() - t0
    finally:
        loop.call_soon_threadsafe(loop.stop)
        engine._th.join()
        loop.close()
    return wall, float(np.diff(ticks).max())


@pytest.mark.parametrize("overlap", [False, True])
def test_the_event_loop_never_waits_for_a_decision(fake_recommender, overlap):
    fake_recommender.cls = SlowRecommender
    mic = _mic(dwell=0.5)
    plan = plans.dkl_explore(mic, CENTROID, budget=10, n_seed=2, patch_size=6, seed=0,
                             map_every=0, overlap=overlap)  # fmt: skip
    wall, stall = _run_with_heartbeat(plan)
    (rec,) = fake_recommender.built
    assert len(rec.ingested) == 10
    if overlap:  # decided in the worker while the 0.5 s dwell ran: no stall, no added time
        assert rec.threads == {"autoscope-decide_0"}
        assert stall < 0.25
        assert wall < 10 * 0.5 + 0.5 + 1.5  # dwells + the first decision + overhead
    else:  # the plain loop decides in the RunEngine's thread, blocking it for each decision
        assert stall >= SlowRecommender.delay * 0.9
        assert wall > 10 * 0.5 + 8 * 0.5


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"overlap": "yes"}, "overlap must be True or False"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 15}, "batch_size"),
        ({"batch_size": 2.0}, "batch_size"),
    ],
)
def test_bad_options_are_refused_before_anything_moves(kw, match):
    mic = _mic()
    with pytest.raises(InputDataError, match=match):
        _explore(mic, **kw)  # no iteration: the plain function raises, nothing moved


def test_steering_is_not_combined_with_overlap_yet():
    from autoscope.steering import Steering

    with pytest.raises(InputDataError, match="steering cannot be combined"):
        _explore(_mic(), overlap=True, steering=Steering(name="steer"))


@pytest.mark.parametrize("then", ["resume", "abort"])
def test_pause_while_the_worker_decides(RE, collector, fake_recommender, then):
    """A pause lands at once while a decision trains in the worker; resume completes the run."""
    from bluesky.utils import RunEngineInterrupted

    fake_recommender.cls = SlowRecommender
    seen = {"n": 0}

    def pause_at_fifth(name, doc):  # a callback runs in the RunEngine's loop: pause from a thread
        if name == "event" and "point_value" in doc["data"]:
            seen["n"] += 1
            if seen["n"] == 5:
                seen["t"] = time.perf_counter()
                threading.Thread(target=RE.request_pause).start()

    RE.subscribe(pause_at_fifth)
    plan = plans.dkl_explore(_mic(dwell=0.02), CENTROID, budget=10, n_seed=3, patch_size=6,
                             seed=4, map_every=0, overlap=True)  # fmt: skip
    with pytest.raises(RunEngineInterrupted):
        RE(plan)
    # paused while the worker still had most of its 0.5 s decision to go
    assert RE.state == "paused" and time.perf_counter() - seen["t"] < 0.3
    getattr(RE, then)()
    ids = collector.data("primary", "point_candidate_id")
    assert len(ids) == len(set(ids))
    made = [c for c in collector.data("decisions", "decision_chosen_id") if c >= 0]
    if then == "resume":  # every step once, in order, every decision measured
        assert len(ids) == 10 and made == ids[3:]
        assert collector.one("stop")["exit_status"] == "success"
    else:
        assert 5 <= len(ids) < 10 and made[: len(ids) - 3] == ids[3:]
        assert collector.one("stop")["exit_status"] == "abort"


def test_another_policy_replays_along_the_overlapped_path(overlapped):
    tr, _ = overlapped
    cf = counterfactual(tr, policy="ucb")
    assert not cf.own and cf.n_decisions == 10
    assert cf.actual_ids.tolist() == tr.chosen_ids
    # every replayed choice is a candidate the run had not measured or pending at that decision
    for k, c in enumerate(cf.chosen_ids):
        assert c is not None and c not in tr.measured_ids[: int(cf.steps[k])]
