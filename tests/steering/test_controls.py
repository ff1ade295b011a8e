"""The Steering device: queued records, thread safety, the plan stub, queueserver functions."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from autoscope.errors import InputDataError
from autoscope.steering import Steering, SteeringSession, SteeringStreams, steering_step


def test_methods_queue_validated_records():
    steer = Steering(name="steer")
    steer.operator.put("ana")
    steer.policy("ucb", beta=4.0)
    steer.explore(5, who="bo")
    steer.exclude(rows=(0, 10), cols=(0, 64))
    steer.boost(like=[(5, 5)], top=3, weight=0.5)
    steer.force([(1, 2), 7])
    steer.budget(+20)
    steer.budget(total=50)
    steer.costs(travel=0.1)
    steer.prior([(3, 4, 1.5)])
    steer.scalarizer("band_integral", low=1.0, high=2.0)
    steer.stop("tea")
    recs = steer.pending_records()
    assert [r["seq"] for r in recs] == list(range(1, 12))
    assert [r["kind"] for r in recs] == [
        "policy",
        "policy",
        "exclude",
        "boost",
        "force",
        "budget",
        "budget",
        "costs",
        "prior",
        "scalarizer",
        "stop",
    ]
    assert recs[0]["who"] == "ana" and recs[1]["who"] == "bo"
    assert recs[1]["params"]["spec"]["name"] == "maxvar" and recs[1]["params"]["steps"] == 5
    assert recs[4]["params"]["points"] == [[1, 2], 7]
    assert recs[8]["params"]["points"] == [{"row": 3, "col": 4, "value": 1.5}]
    assert json.loads(steer.pending.get()) == recs
    with pytest.raises(InputDataError, match="unknown policy 'eii'"):
        steer.policy("eii")
    with pytest.raises(InputDataError, match="give delta"):
        steer.budget()
    assert len(steer.pending_records()) == 11  # nothing queued by the failures


def test_applied_records_are_pruned_and_ophyd_stop_passes_through():
    steer = Steering(name="steer")
    for _ in range(3):
        steer.stop()
    steer.applied.put(2)
    assert [r["seq"] for r in steer.pending_records()] == [3]
    steer.policy("ei")
    assert [r["seq"] for r in json.loads(steer.pending.get())] == [3, 4]
    assert steer.stop(success=True) is None  # Ophyd's Device.stop: nothing queued
    assert len(steer.pending_records()) == 2
    assert [r["seq"] for r in steer.clear()] == [3, 4] and steer.pending_records() == []


def test_concurrent_submissions_get_unique_sequence_numbers():
    steer = Steering(name="steer")

    def worker(k):
        for i in range(25):
            steer.exclude(ids=[k * 100 + i])

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    recs = steer.pending_records()
    assert sorted(r["seq"] for r in recs) == list(range(1, 101))
    assert sorted(r["params"]["region"]["ids"][0] for r in recs) == sorted(
        k * 100 + i for k in range(4) for i in range(25)
    )


def test_steering_step_emits_streams(RE, make_rec, tiny, measure):
    import bluesky.preprocessors as bpp

    from autoscope.steering import SimulatedExpert
    from autoscope.testing import DocumentRecorder

    rec = make_rec("ei")
    session = SteeringSession(rec, budget=20, scalarizer=tiny.default_scalarizer, axis=tiny.axis)
    for cid in (0, 60):
        measure(rec, session, cid)
    steer = Steering(name="steer")
    steer.boars(SimulatedExpert(tiny.spectrum(8, 8)), tau=10.0)
    steer.policy("ucb", beta=2.0)
    steer.exclude(ids=[1000])  # rejected: no such candidate
    docs = DocumentRecorder()
    RE.subscribe(docs)

    @bpp.run_decorator()
    def plan():
        return (yield from steering_step(steer, session, 2, SteeringStreams(), (tiny.axis.size,)))

    RE(plan())
    descs = {d["uid"]: d["name"] for n, d in docs.documents if n == "descriptor"}
    ev = [(descs[d["descriptor"]], d["data"]) for n, d in docs.documents if n == "event"]
    assert [s for s, _ in ev] == [
        "votes",
        "votes",
        "interventions",
        "interventions",
        "interventions",
    ]
    votes = [d for s, d in ev if s == "votes"]
    assert [v["vote_candidate_id"] for v in votes] == [0, 60]
    assert np.shape(votes[0]["vote_target"]) == (tiny.axis.size,)
    inter = [d for s, d in ev if s == "interventions"]
    assert [d["intervention_action"] for d in inter] == ["scalarizer", "policy", "exclude"]
    assert [d["intervention_who"] for d in inter] == ["boars", "operator", "operator"]
    assert inter[0]["intervention_seq"] < 0 and inter[1]["intervention_step"] == 2
    assert "rejected" in json.loads(inter[2]["intervention_new"])
    assert json.loads(inter[1]["intervention_new"])["name"] == "ucb"
    assert steer.applied.get() == 2 and steer.step.get() == 2
    assert [r["kind"] for r in steer.history()] == ["scalarizer", "policy", "exclude"]
    assert steer.pending_records() == []
    assert rec.policy.spec["name"] == "ucb"


def test_queueserver_function_execute_in_process():
    """The worker's own function lookup + permission check, then a call from another thread."""
    profile_ops = pytest.importorskip("bluesky_queueserver.manager.profile_ops")
    from autoscope.steering import queueserver_functions

    namespace: dict = {}
    exec(  # what a startup file does
        "from autoscope.steering import Steering, queueserver_functions\n"
        "steer = Steering(name='steer')\n"
        "globals().update(queueserver_functions(steer))\n",
        namespace,
    )
    perms = {
        "user_groups": {
            "root": {"allowed_functions": [None]},
            "admin": {"allowed_functions": [":^steer_"]},
        }
    }
    item = {"name": "steer_policy", "args": ["ucb"], "kwargs": {"beta": 4.0}, "user_group": "admin"}
    func = profile_ops.prepare_function(
        func_info=item, nspace=namespace, user_group_permissions=perms
    )
    out = {}
    t = threading.Thread(
        target=lambda: out.update(r=func["callable"](*func["args"], **func["kwargs"]))
    )
    t.start()
    t.join()
    assert out["r"]["params"]["spec"]["params"]["beta"] == 4.0
    steer = namespace["steer"]
    assert [r["kind"] for r in namespace["steer_pending"]()] == ["policy"]
    assert steer.pending_records()[0]["seq"] == 1
    bad = dict(item, name="sneaky")
    with pytest.raises(RuntimeError, match="not allowed"):
        profile_ops.prepare_function(func_info=bad, nspace=namespace, user_group_permissions=perms)
    assert set(queueserver_functions(steer)) >= {"steer_exclude", "steer_force", "steer_stop"}
