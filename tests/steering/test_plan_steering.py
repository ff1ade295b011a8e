"""Steering a real ``dkl_explore`` run: pause, change, resume; live from a thread; BOARS; force.

Every run is stored in an embedded Tiled catalog and read back with ``trace.load``; the replay
check re-walks the stored path with ``autoscope.replay.counterfactual``, which re-applies the
stored interventions at the same steps (``autoscope.steering.InterventionReplay``).
"""

from __future__ import annotations

import dataclasses
import threading
import time

import numpy as np
import pytest

from autoscope.errors import InputDataError
from autoscope.steering import SimulatedExpert, Steering

MODEL = {"name": "dkl", "params": {"n_iter": 15, "warm_iter": 3}}


@pytest.fixture
def mic(tiny):
    from autoscope.devices.sim import SimMicroscope

    return SimMicroscope(tiny, seed=0)


def _plan(mic, tiny, steer, budget=13, n_seed=4, policy="ei", seed=1):
    from autoscope.plans import dkl_explore

    return dkl_explore(
        mic,
        tiny.default_scalarizer,
        policy,
        budget=budget,
        n_seed=n_seed,
        patch_size=6,
        seed=seed,
        model=MODEL,
        steering=steer,
    )


def _replay(tr):
    """``counterfactual(tr)``: it re-applies the stored interventions at their boundaries."""
    from autoscope.replay import counterfactual

    return counterfactual(tr)


def test_pause_switch_policy_exclude_resume(RE, catalog, mic, tiny):
    from bluesky.utils import RunEngineInterrupted

    from autoscope import trace
    from autoscope.storage import make_writer

    RE.subscribe(make_writer(catalog))
    steer = Steering(name="steer")

    def pause_after(name, doc):  # as Ctrl-C would; request_pause blocks, so not on the RE thread
        if name == "event" and doc["data"].get("point_step") == 6:
            threading.Thread(target=RE.request_pause, args=(True,)).start()

    token = RE.subscribe(pause_after)
    with pytest.raises(RunEngineInterrupted):
        RE(_plan(mic, tiny, steer))
    RE.unsubscribe(token)
    assert RE.state == "paused"
    paused_at = steer.step.get()  # the last boundary passed (6, or 7 if the pause came late)
    assert paused_at in (6, 7)
    steer.policy("ucb", beta=4.0)
    steer.exclude(rows=(3, 8))
    (uid,) = RE.resume()

    tr = trace.load(uid, catalog=catalog)
    at = paused_at + 1  # applied at the next boundary
    assert [(r["kind"], r["step"], r["who"]) for r in tr.interventions] == [
        ("policy", at, "operator"),
        ("exclude", at, "operator"),
    ]
    assert tr.interventions[0]["old"]["name"] == "ei"
    assert tr.interventions[0]["new"] == {"name": "ucb", "params": {"beta": 4.0, "maximize": True}}
    assert tr.interventions[1]["new"]["n_excluded"] == 5 * 11
    later = np.asarray(tr.steps) >= at
    assert later.sum() == 13 - at and not np.any(
        (np.asarray(tr.rows)[later] >= 3) & (np.asarray(tr.rows)[later] < 8)
    )
    assert tr.stop["exit_status"] == "success" and tr.n_measured == 13
    # the replay reproduces the steered run exactly; without the interventions it would not
    assert _replay(tr).chosen_ids == tr.chosen_ids
    assert _replay(dataclasses.replace(tr, interventions=[])).chosen_ids != tr.chosen_ids


def test_live_thread_steering(RE, mic, tiny):
    from autoscope.testing import DocumentRecorder

    docs = DocumentRecorder()
    RE.subscribe(docs)
    steer = Steering(name="steer")
    done = {}

    def operator():
        deadline = time.monotonic() + 60
        while steer.step.get() < 5 and time.monotonic() < deadline:
            time.sleep(0.005)
        done["rec"] = steer.exclude(cols=(8, 14), who="bo")

    t = threading.Thread(target=operator)
    t.start()
    RE(_plan(mic, tiny, steer, budget=12))
    t.join()
    descs = {d["uid"]: d["name"] for n, d in docs.documents if n == "descriptor"}
    events = [(descs[d["descriptor"]], d["data"]) for n, d in docs.documents if n == "event"]
    inter = [d for s, d in events if s == "interventions"]
    assert len(inter) == 1 and inter[0]["intervention_who"] == "bo"
    at = inter[0]["intervention_step"]
    assert 5 <= at <= 11
    later = [d for s, d in events if s == "primary" and d["point_step"] >= at]
    assert later and all(not 8 <= d["point_col"] < 14 for d in later)


def test_force_budget_and_stop(RE, catalog, mic, tiny):
    from autoscope import trace
    from autoscope.storage import make_writer

    RE.subscribe(make_writer(catalog))
    steer = Steering(name="steer")
    steer.force([(13, 13), (3, 3)])  # queued before the run: applied at the first boundary
    steer.budget(-100)
    steer.budget(total=8)
    (uid,) = RE(_plan(mic, tiny, steer, budget=20))
    tr = trace.load(uid, catalog=catalog)
    assert tr.phases[4:6] == ["forced", "forced"]
    assert [(int(r), int(c)) for r, c in zip(tr.rows[4:6], tr.cols[4:6], strict=True)] == [
        (13, 13),
        (3, 3),
    ]
    forced = [d for d in tr.decisions if "forced" in str(d.get("reason"))]
    assert [d["chosen_id"] for d in forced] == [120, 0] and all(d["fallback"] == 1 for d in forced)
    assert tr.n_measured == 8 and tr.decisions[-1]["reason"] == "budget"
    assert [r["new"] for r in tr.interventions if r["kind"] == "budget"] == [0, 8]

    steer2 = Steering(name="steer2")
    steer2.stop("seen enough", who="ana")
    (uid2,) = RE(_plan(mic, tiny, steer2, budget=20))
    tr2 = trace.load(uid2, catalog=catalog)
    assert tr2.n_measured == 4 and tr2.decisions[-1]["reason"] == "seen enough"
    assert tr2.stop["exit_status"] == "success" and tr2.stop["reason"] == "seen enough"


def test_boars_in_a_run_stores_votes_and_replays(RE, catalog, mic, tiny, tmp_path):
    from autoscope import trace
    from autoscope.report import make_report
    from autoscope.steering import boars_figure, interventions_figure
    from autoscope.storage import make_writer

    RE.subscribe(make_writer(catalog))
    steer = Steering(name="steer")
    steer.boars(SimulatedExpert(tiny.spectrum(8, 8), good=0.9, bad=0.2), tau=4.0, min_weight=0.2)
    (uid,) = RE(_plan(mic, tiny, steer, budget=11))
    tr = trace.load(uid, catalog=catalog)
    # asked while exp(-t/4) >= 0.2, i.e. for measurements 0..6
    assert [int(v["step"]) for v in tr.votes] == list(range(7))
    assert all(v["vote"] in (0, 1, 2) for v in tr.votes)
    targets = [np.asarray(v["target"], dtype=float) for v in tr.votes]
    assert all(t.shape == (tiny.axis.size,) for t in targets)
    boars = [r for r in tr.interventions if r["who"] == "boars"]
    assert boars and all(r["kind"] == "scalarizer" for r in boars)
    assert boars[-1]["new"]["spec"]["name"] == "similarity"
    np.testing.assert_allclose(boars[-1]["new"]["spec"]["params"]["target"], targets[-1], rtol=1e-9)
    assert _replay(tr).chosen_ids == tr.chosen_ids
    boars_figure(tr)
    interventions_figure(tr)
    index = make_report(tr, tmp_path / "report", sample=tiny)
    html = index.read_text()
    for panel in ("boars.png", "interventions.png", "structure.png"):
        assert (tmp_path / "report" / panel).stat().st_size > 1000
        assert panel in html


def test_plan_validates_steering_and_lists_without_engine(mic, tiny):
    with pytest.raises(InputDataError, match="steering must be a Steering device"):
        _plan(mic, tiny, steer=object())
    steer = Steering(name="steer")
    msgs = list(_plan(mic, tiny, steer))  # no RunEngine: the plan still builds and lists
    assert any(m.command == "open_run" for m in msgs)
    start = next(m for m in msgs if m.command == "open_run").kwargs
    assert start["plan_args"]["steering"] == "steer" and start["autoscope"]["steering"] == "steer"
