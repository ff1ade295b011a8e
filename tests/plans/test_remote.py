"""dkl_explore with its model on a decision server: two real processes on one machine.

The server is ``autoscope decide-server`` started as a subprocess on a free loopback port
(``decide_server`` fixture); runs go to an embedded catalog. Both sides run torch on one
thread, so the remote run must measure exactly what the local one does. The overlapped,
steered and resumed runs are marked ``slow`` (15-40 s each on 2 shared cores).
"""

from __future__ import annotations

import asyncio
import signal

import numpy as np
import pytest
from bluesky import RunEngine

from autoscope import plans, trace
from autoscope.errors import DecisionServerError, InputDataError
from autoscope.remote import RemoteRecommender
from autoscope.replay import counterfactual
from autoscope.storage import make_writer

pytestmark = pytest.mark.server

#: small and deterministic: 20 Adam steps at the first fit, 5 per warm start, one thread
MODEL = {"name": "dkl", "params": {"n_iter": 20, "warm_iter": 5, "threads": 1}}


def _stem():
    from autoscope.devices.sim import SimSTEM

    return SimSTEM(shape=(32, 32), seed=0)


def _explore(mic, **kw):
    return plans.dkl_explore(
        mic, mic.sample.default_scalarizer, "ei", budget=kw.pop("budget", 15), n_seed=5,
        patch_size=8, seed=3, model=kw.pop("model", MODEL), **kw,
    )  # fmt: skip


@pytest.fixture(scope="module")
def local_run(module_catalog, runner):
    uid, col = runner(_explore(_stem()), module_catalog)
    return trace.load(uid, module_catalog), col


def test_remote_run_measures_and_records_what_the_local_run_does(
    shared_decide_server, local_run, module_catalog, runner, trace_matches
):
    address = shared_decide_server
    uid, col = runner(_explore(_stem(), recommender=RemoteRecommender(address)), module_catalog)
    tr, local = trace.load(uid, module_catalog), local_run[0]
    trace_matches(tr, col)
    assert tr.measured_ids == local.measured_ids and len(tr.measured_ids) == 15
    assert tr.stop["reason"] == "budget"
    assert tr.specs["decision_server"]["address"] == address
    assert (
        tr.specs["model"] == local.specs["model"]
        and tr.specs["seed_ids"] == local.specs["seed_ids"]
    )
    assert len(tr.decisions) == len(local.decisions) == 11  # 10 decisions + the final one
    for got, want in zip(tr.decisions, local.decisions, strict=True):
        assert set(got) == set(want)
        assert got["fallback"] == want["fallback"] == 0
        for k in ("chosen_id", "acq_value", "pred_mean", "pred_std", "n_known", "pending_ids"):
            assert got[k] == want[k] or (got[k] != got[k] and want[k] != want[k]), k
    assert np.array_equal(tr.maps["mean"], local.maps["mean"], equal_nan=True)
    # the stored run replays locally: what the remote model knew at each decision is recorded
    assert counterfactual(tr).chosen_ids == [d["chosen_id"] for d in tr.decisions[:-1]]


@pytest.mark.slow
def test_overlapped_batched_remote_run_replays_exactly(
    shared_decide_server, module_catalog, runner
):
    address = shared_decide_server
    plan = _explore(_stem(), recommender=address, overlap=True, batch_size=2, budget=11)
    uid, _ = runner(plan, module_catalog)  # an address string works as well as a client
    tr = trace.load(uid, module_catalog)
    made = [d for d in tr.decisions if d["chosen_id"] >= 0]
    assert len(tr.measured_ids) == 11 == len(set(tr.measured_ids))
    assert all(d["fallback"] == 0 for d in made)
    assert [d["batch"] for d in made] == [0, 0, 1, 1, 2, 2]
    assert all(d["pending_ids"] for d in made)  # decided while the previous batch was measured
    assert counterfactual(tr).chosen_ids == [d["chosen_id"] for d in made]


def test_server_killed_mid_run_the_run_completes_on_fallbacks(decide_server, catalog, runner):
    proc, address = decide_server()
    mic = _stem()
    remote = RemoteRecommender(address, timeout=2.0, connect_timeout=1.0, retry_interval=60.0)
    plan = _explore(mic, recommender=remote, budget=12)
    killed = []

    def kill_after_seventh_point(name, doc):  # a RunEngine callback: the GPU host goes down
        if name == "event" and doc["data"].get("point_step") == 6 and not killed:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            killed.append(doc["seq_num"])

    loop = asyncio.new_event_loop()
    engine = RunEngine({}, loop=loop, call_returns_result=False)
    engine.subscribe(make_writer(catalog))
    engine.subscribe(kill_after_seventh_point)
    try:
        (uid,) = engine(plan)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        engine._th.join()
        loop.close()
    tr = trace.load(uid, catalog)
    assert killed and tr.stop["exit_status"] == "success" and tr.stop["reason"] == "budget"
    assert len(tr.measured_ids) == 12 == len(set(tr.measured_ids)) == len(tr.spectra)
    assert np.isfinite(tr.values).all()  # every measured spectrum is stored and scalarized
    made = [d for d in tr.decisions if d["chosen_id"] >= 0]
    before = [d for d in made if d["step"] <= 6]
    after = [d for d in made if d["step"] > 6]
    assert len(before) == 2 and all(d["fallback"] == 0 for d in before)
    assert len(after) == 5 and all(d["fallback"] == 1 for d in after)
    assert all("DecisionServerError" in d["reason"] for d in after)
    assert "no answer from the decision server" in after[0]["reason"]


def test_unreachable_server_refused_when_the_plan_is_built():
    from autoscope.devices.sim import SimSTEM

    mic = SimSTEM(shape=(32, 32), seed=0)
    x0 = mic.probe.x.position
    dead = RemoteRecommender("tcp://127.0.0.1:9", connect_timeout=0.5)  # discard port: nobody
    with pytest.raises(DecisionServerError, match="no answer from the decision server at tcp"):
        _explore(mic, recommender=dead)  # raised by the call itself: nothing was run or moved
    assert mic.probe.x.position == x0
    with pytest.raises(InputDataError, match="RemoteRecommender or a decision server address"):
        _explore(mic, recommender=object())


def test_bad_model_refused_by_the_server_before_the_run(shared_decide_server):
    address = shared_decide_server
    with pytest.raises(InputDataError, match="nosuch"):
        _explore(_stem(), recommender=address, model="nosuch")
    with pytest.raises(InputDataError, match="device='cuda' was asked for"):  # the server's CUDA
        _explore(_stem(), recommender=address, model={"name": "dkl", "params": {"device": "cuda"}})
    with pytest.raises(InputDataError, match="takes the model, policy and seed from the plan"):
        _explore(_stem(), recommender=RemoteRecommender(address, policy="ucb"))


@pytest.mark.slow
def test_steered_remote_run_equals_the_steered_local_run(
    shared_decide_server, module_catalog, runner
):
    from autoscope.steering import Steering

    address = shared_decide_server
    traces = []
    for recommender in (None, RemoteRecommender(address)):
        steer = Steering(name="steer")
        steer.policy("ucb", beta=4.0)  # queued now: applied at the first decision's boundary
        steer.exclude(rows=(10, 20))
        plan = _explore(_stem(), recommender=recommender, steering=steer, budget=10)
        uid, _ = runner(plan, module_catalog)
        traces.append(trace.load(uid, module_catalog))
    local, remote = traces
    assert remote.measured_ids == local.measured_ids and len(remote.measured_ids) == 10
    assert [(r["kind"], r["step"], r["old"], r["new"]) for r in remote.interventions] == [
        (r["kind"], r["step"], r["old"], r["new"]) for r in local.interventions
    ]
    assert remote.interventions[0]["new"]["name"] == "ucb"
    rows = np.asarray(remote.rows)[5:]  # the model's choices avoid the excluded rows
    assert not np.any((rows >= 10) & (rows < 20))


@pytest.mark.slow
def test_a_crashed_run_resumed_on_the_server_continues_as_locally(
    shared_decide_server, catalog, runner
):
    from autoscope.devices.sim import SimMicroscope
    from autoscope.testing import TinySample

    address = shared_decide_server
    centroid = {"name": "centroid", "params": {"low": 0.0, "high": 10.0}}

    def crash_at_seventh_spectrum(name, doc):
        if name == "event" and doc["data"].get("point_step") == 6:
            raise RuntimeError("simulated crash")

    loop = asyncio.new_event_loop()
    engine = RunEngine({}, loop=loop, call_returns_result=False)
    try:
        engine.subscribe(make_writer(catalog))
        engine.subscribe(crash_at_seventh_spectrum)
        plan = plans.dkl_explore(SimMicroscope(TinySample(seed=0), seed=1), centroid, budget=11,
                                 n_seed=4, patch_size=8, seed=3, model=MODEL)  # fmt: skip
        with pytest.raises(RuntimeError, match="simulated crash"):
            engine(plan)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        engine._th.join()
        loop.close()
    old = trace.load(-1, catalog)
    resumed = []
    for recommender in (None, RemoteRecommender(address)):
        fresh = SimMicroscope(TinySample(seed=0), seed=2)
        uid, _ = runner(plans.dkl_resume(fresh, old, recommender=recommender), catalog)
        resumed.append(trace.load(uid, catalog))
    local, remote = resumed
    assert remote.specs["decision_server"]["address"] == address
    assert len(old.measured_ids) + len(remote.measured_ids) == 11
    assert remote.measured_ids == local.measured_ids
    made = [[d["acq_value"] for d in t.decisions if d["chosen_id"] >= 0] for t in resumed]
    assert made[0] == made[1] and len(made[0]) == len(remote.measured_ids)


def test_queue_items_carry_the_server_address(tiny_mic):
    po = pytest.importorskip("bluesky_queueserver.manager.profile_ops")
    from bluesky_queueserver import validate_plan

    devices = po._prepare_devices({"microscope": tiny_mic})
    allowed = po._prepare_plans(
        {n: getattr(plans, n) for n in ("dkl_explore", "dkl_resume")}, existing_devices=devices
    )
    for kwargs, ok in (({"recommender": "tcp://gpu-host:5555"}, True), ({"recommender": 5}, False)):
        item = {"name": "dkl_explore", "args": ["microscope", "centroid"], "kwargs": kwargs}
        result = validate_plan(item, allowed_plans=allowed, allowed_devices=devices)
        assert result[0] is ok, result[1]
