"""dkl_explore through a real bluesky-queueserver: redis, start-re-manager, the profile, Tiled.

The fixture starts its own ``redis-server`` and ``start-re-manager --startup-dir
profile_collection/startup`` on free loopback ports; the worker writes to a real Tiled server
(``autoscope serve`` on PostgreSQL) named by ``AUTOSCOPE_TILED_URI`` + ``AUTOSCOPE_API_KEY``,
as at a beamline. The test drives it with bluesky-queueserver-api as a client would: items by
device name, pause, ``function_execute`` steering, resume, then reads the run back from Tiled;
and runs the ophyd-async twin (``microscope_async``, connected by the profile on its RunEngine's
loop) the same way, by name, beside the ophyd v1 ``microscope``.
Another device of the profile (``10-devices.py``) is one more name in ``PROFILE_DEVICES``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("bluesky_queueserver_api")
from bluesky_queueserver_api import BFunc, BPlan  # noqa: E402
from bluesky_queueserver_api.zmq import REManagerAPI  # noqa: E402

STARTUP = Path(__file__).resolve().parents[2] / "profile_collection" / "startup"
PROFILE_DEVICES = ("microscope", "microscope_async", "steer")
SHAPE = 32
MODEL = {"name": "dkl", "params": {"n_iter": 15, "warm_iter": 3}}

pytestmark = [pytest.mark.server, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    """A private ``redis-server`` on a free loopback port (no persistence); yields its address."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server not found: run .ci/services.sh")
    directory = tmp_path_factory.mktemp("redis")
    port = _free_port()
    command = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", str(directory)]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("redis-server did not start")
            time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def re_manager(redis_server, tiled_server, tmp_path_factory):
    """``start-re-manager`` over the profile, environment open; yields ``(RM, uri, key, address)``.

    The manager writes its plan/device listing to a temporary copy, so the checked-in
    ``existing_plans_and_devices.yaml`` is never modified by a test run.
    """
    uri, api_key = tiled_server
    directory = tmp_path_factory.mktemp("re-manager")
    listing = directory / "existing_plans_and_devices.yaml"
    shutil.copyfile(STARTUP / "existing_plans_and_devices.yaml", listing)
    control, info = f"tcp://127.0.0.1:{_free_port()}", f"tcp://127.0.0.1:{_free_port()}"
    exe = Path(sys.executable).with_name("start-re-manager")
    command = [
        str(exe), "--startup-dir", str(STARTUP), "--redis-addr", redis_server,
        "--redis-name-prefix", f"autoscope_test_{os.getpid()}",
        "--zmq-control-addr", control, "--zmq-info-addr", info, "--zmq-publish-console", "OFF",
        "--existing-plans-devices", str(listing),
        "--user-group-permissions", str(STARTUP / "user_group_permissions.yaml"),
        "--update-existing-plans-devices", "ENVIRONMENT_OPEN",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TILED_", "AUTOSCOPE_"))}
    env.update(AUTOSCOPE_TILED_URI=uri, AUTOSCOPE_API_KEY=api_key, AUTOSCOPE_SAMPLE="stem")
    env.update(AUTOSCOPE_SHAPE=str(SHAPE), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    log_path = directory / "re-manager.log"
    before = _zmq_contexts()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        RM = REManagerAPI(zmq_control_addr=control, zmq_info_addr=info, timeout_recv=10.0)
    except BaseException:
        _stop(proc)
        raise
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                RM.status()
                break
            except Exception:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"start-re-manager did not start:\n{log_path.read_text()}")
                time.sleep(0.5)
        RM.environment_open()
        RM.wait_for_idle(timeout=180)
        # a failed environment open does not raise: check that the worker exists
        if not RM.status()["worker_environment_exists"]:
            pytest.fail(f"the worker environment did not open:\n{log_path.read_text()}")
        yield RM, uri, api_key, control
    finally:
        try:
            if RM.status()["worker_environment_exists"]:
                RM.environment_close()
                RM.wait_for_idle(timeout=60)
        except Exception:
            pass
        RM.close()
        for ctx in _zmq_contexts() - before:  # the API closes its sockets, not its contexts
            ctx.destroy(linger=0)
        _stop(proc)


def _zmq_contexts() -> set:
    import gc

    import zmq

    # type(), not isinstance(): it reads no attribute (torch has deprecated module proxies)
    return {o for o in gc.get_objects() if issubclass(type(o), zmq.Context) and not o.closed}


def _stem_scalarizer() -> dict:
    from autoscope.sim import make_sample

    return make_sample("stem", shape=(SHAPE, SHAPE), seed=0).default_scalarizer


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"budget": -3}, r"budget.*-3.*out of range"),
        ({"patch_size": 999}, r"patch_size.*999.*out of range"),
        ({"policy": "nosuchpolicy"}, r"policy"),
        ({"model": "nosuchmodel"}, r"model"),
        ({"budget": "ten"}, r"budget"),
    ],
)
@pytest.mark.parametrize("tiled_server", ["postgresql"], indirect=True)
def test_bad_items_are_refused_at_item_add(re_manager, kwargs, match):
    from bluesky_queueserver_api.comm_base import RequestFailedError

    RM, _, _, _ = re_manager
    before = RM.queue_get(reload=True)["items"]
    with pytest.raises(RequestFailedError, match=match):
        RM.item_add(BPlan("dkl_explore", "microscope", "peak_ratio", **kwargs))
    with pytest.raises(RequestFailedError, match="nosuchdevice"):
        RM.item_add(BPlan("dkl_explore", "nosuchdevice", "peak_ratio"))
    assert RM.queue_get(reload=True)["items"] == before  # nothing entered the queue


@pytest.mark.parametrize("tiled_server", ["postgresql"], indirect=True)
def test_dkl_explore_by_name_paused_steered_resumed_read_from_tiled(re_manager):
    from autoscope import trace
    from autoscope.storage import close_catalog, open_catalog

    RM, uri, api_key, _ = re_manager
    assert set(PROFILE_DEVICES) <= set(RM.devices_allowed()["devices_allowed"])
    budget, rows = 15, (0, 12)
    item = BPlan("dkl_explore", "microscope", _stem_scalarizer(), "ei", budget=budget, n_seed=5,
                 patch_size=8, seed=2, model=MODEL, steering="steer")  # fmt: skip
    RM.item_add(item)
    RM.queue_start()
    # pause as soon as the run has started: at its next checkpoint
    deadline = time.monotonic() + 120
    while not RM.status()["running_item_uid"] or not RM.status().get("run_list_uid"):
        assert time.monotonic() < deadline, "the run did not start"
        time.sleep(0.2)
    RM.re_pause("deferred")
    RM.wait_for_idle_or_paused(timeout=120)
    assert RM.status()["manager_state"] == "paused"
    for func in (BFunc("steer_policy", "ucb", beta=4.0), BFunc("steer_exclude", rows=list(rows))):
        task = RM.function_execute(func, run_in_background=True)
        RM.wait_for_completed_task(task["task_uid"], timeout=60)
        result = RM.task_result(task["task_uid"])["result"]
        assert result["success"], result
    RM.re_resume()
    RM.wait_for_idle(timeout=300)

    finished = RM.history_get()["items"][-1]
    assert finished["result"]["exit_status"] == "completed", finished["result"]
    (uid,) = finished["result"]["run_uids"]
    client = open_catalog(uri, api_key=api_key)  # a fresh client, as an analyst would
    try:
        tr = trace.load(uid, catalog=client)
    finally:
        close_catalog(client)
    assert tr.stop["exit_status"] == "success" and tr.n_measured == budget
    assert tr.start["plan_args"]["microscope"] == "microscope"  # converted from its name
    kinds = [(r["kind"], r["who"]) for r in tr.interventions]
    assert kinds == [("policy", "operator"), ("exclude", "operator")]
    assert tr.interventions[1]["new"]["n_excluded"] > 0
    assert tr.interventions[0]["new"]["name"] == "ucb"
    at = tr.interventions[0]["step"]
    later = np.asarray(tr.steps) >= at
    assert later.sum() == budget - at > 0
    assert not np.any(
        (np.asarray(tr.rows)[later] >= rows[0]) & (np.asarray(tr.rows)[later] < rows[1])
    )


@pytest.mark.parametrize("tiled_server", ["postgresql"], indirect=True)
def test_dkl_explore_on_the_ophyd_async_instrument_by_name_read_from_tiled(re_manager):
    """The profile's ``microscope_async`` (ophyd-async soft signals) runs through the worker."""
    from autoscope import trace
    from autoscope.sim import make_sample
    from autoscope.storage import close_catalog, open_catalog

    RM, uri, api_key, _ = re_manager
    assert "microscope_async" in RM.devices_allowed()["devices_allowed"]
    budget, n_seed = 10, 4
    item = BPlan("dkl_explore", "microscope_async", _stem_scalarizer(), "ei", budget=budget,
                 n_seed=n_seed, patch_size=8, seed=3, model=MODEL)  # fmt: skip
    RM.item_add(item)
    RM.queue_start()
    RM.wait_for_idle(timeout=300)

    finished = RM.history_get()["items"][-1]
    assert finished["name"] == "dkl_explore" and finished["args"][0] == "microscope_async"
    assert finished["result"]["exit_status"] == "completed", finished["result"]
    (uid,) = finished["result"]["run_uids"]
    client = open_catalog(uri, api_key=api_key)
    try:
        tr = trace.load(uid, catalog=client)
    finally:
        close_catalog(client)
    assert tr.exit_status == "success" and tr.n_measured == budget
    assert tr.start["plan_args"]["microscope"] == "microscope_async"
    assert tr.instrument["class"] == "SimAsyncMicroscope"
    assert tr.instrument["backend"].startswith("ophyd-async")
    sample = make_sample("stem", shape=(SHAPE, SHAPE), seed=0)  # the profile's, AUTOSCOPE_SHAPE
    np.testing.assert_allclose(tr.image, sample.image)
    np.testing.assert_array_equal(tr.axis, sample.axis)
    # distinct candidates, measured where the plan asked: the candidate's pixel
    assert len(set(tr.measured_ids)) == budget
    assert all(0 <= i < len(tr.candidates) for i in tr.measured_ids)
    np.testing.assert_array_equal(tr.candidates[tr.measured_ids], np.c_[tr.rows, tr.cols])
    assert tr.phases[:n_seed] == ["seed"] * n_seed and "seed" not in tr.phases[n_seed:]
    assert tr.chosen_ids == tr.measured_ids[n_seed:]
    # the spectra the device measured, with the array shape its describe() gave TiledWriter:
    # the profile's instrument is seeded 0 and this is its first run in this worker
    assert tr.spectra.shape == (budget, *sample.spectrum_shape)
    rng = np.random.default_rng(0)
    expected = [sample.measure(r, c, rng=rng) for r, c in zip(tr.rows, tr.cols, strict=True)]
    np.testing.assert_allclose(tr.spectra, np.asarray(expected, dtype=float))


@pytest.mark.parametrize("tiled_server", ["postgresql"], indirect=True)
def test_the_qserver_commands_of_the_deployment_guide(re_manager):
    """``qserver -a ADDR queue add plan '<json>'`` as docs/deployment.md writes it."""
    import json

    RM, _, _, address = re_manager
    exe = str(Path(sys.executable).with_name("qserver"))

    def qserver(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([exe, "-a", address, *args], capture_output=True, text=True,
                              timeout=60)  # fmt: skip

    item = {"name": "dkl_explore", "args": ["microscope", {"name": "peak_ratio", "params": {}}],
            "kwargs": {"budget": 60, "steering": "steer"}}  # fmt: skip
    bad = qserver("queue", "add", "plan", json.dumps({**item, "kwargs": {"budget": -3}}))
    assert bad.returncode != 0 and "out of range" in bad.stdout + bad.stderr
    good = qserver("queue", "add", "plan", json.dumps(item))
    assert good.returncode == 0, good.stdout + good.stderr
    # the ophyd-async instrument's command (docs/deployment.md) is the same with its name
    item_async = {**item, "args": ["microscope_async", item["args"][1]], "kwargs": {"budget": 40}}
    good_async = qserver("queue", "add", "plan", json.dumps(item_async))
    assert good_async.returncode == 0, good_async.stdout + good_async.stderr
    queued, queued_async = RM.queue_get(reload=True)["items"]
    assert queued["kwargs"] == {"budget": 60, "steering": "steer"}
    assert queued_async["args"][0] == "microscope_async"
    assert queued_async["kwargs"] == {"budget": 40}
    assert qserver("queue", "clear").returncode == 0 and RM.queue_get(reload=True)["items"] == []
