"""Helpers of the instrument tests: one whole short experiment, stored, and its checks."""

from __future__ import annotations

import numpy as np
import pytest

#: a small, fast DKL (15 Adam steps at the first fit, 4 at each warm start)
FAST_DKL = {"name": "dkl", "params": {"n_iter": 15, "warm_iter": 4}}


def run_experiment(RE, microscope, client, scalarizer, *, budget=8, n_seed=4, patch_size=8,
                   policy="ucb", seed=0, connect=True):  # fmt: skip
    """Connect (ophyd-async), run a short ``dkl_explore`` stored in ``client``; (uid, documents)."""
    from autoscope import plans
    from autoscope.storage import make_writer
    from autoscope.testing import DocumentRecorder

    if connect:
        from ophyd_async.plan_stubs import ensure_connected

        RE(ensure_connected(microscope))
    recorder = DocumentRecorder()
    tokens = [RE.subscribe(recorder), RE.subscribe(make_writer(client))]
    try:
        plan = plans.dkl_explore(microscope, scalarizer, policy, budget=budget, n_seed=n_seed,
                                 patch_size=patch_size, seed=seed, model=FAST_DKL)  # fmt: skip
        RE(plan)
    finally:
        for t in tokens:
            RE.unsubscribe(t)
    (uid,) = [d["uid"] for n, d in recorder.documents if n == "start"][-1:]
    return uid, recorder.documents


def check_experiment(client, uid, documents, *, budget, image=None, axis=None):
    """The stored run equals the documents; values are the scalarizer of the stored spectra."""
    from autoscope import scalarizers, trace
    from autoscope.testing import assert_stored_equal

    assert_stored_equal(client[uid], documents)
    tr = trace.load(uid, client)
    assert tr.n_measured == budget and len(set(tr.measured_ids)) == budget
    assert tr.stop["exit_status"] == "success" and tr.stop["reason"] == "budget"
    f = scalarizers.from_spec(tr.specs["scalarizer"])
    np.testing.assert_allclose(tr.values, f.apply(tr.spectra, tr.axis), rtol=1e-12, equal_nan=True)
    rc = tr.candidates[np.asarray(tr.measured_ids)]
    np.testing.assert_array_equal(np.c_[tr.rows, tr.cols], rc)
    if image is not None:
        np.testing.assert_allclose(tr.image, image)
    if axis is not None:
        np.testing.assert_allclose(tr.axis, axis)
    return tr


@pytest.fixture
def experiment():
    """``experiment(RE, microscope, client, scalarizer, **kw) -> (uid, documents)``."""
    return run_experiment


@pytest.fixture
def checked():
    """``checked(client, uid, documents, budget=..., image=..., axis=...) -> ExperimentTrace``."""
    return check_experiment


# -- EPICS: IOC processes on loopback ports chosen once per session -----------------------------
def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, socket.socket() as tcp:
        tcp.bind(("127.0.0.1", 0))
        port = tcp.getsockname()[1]
        udp.bind(("127.0.0.1", port))  # CA serves TCP and UDP on the same port
        return port


@pytest.fixture(scope="session")
def ca_ports():
    """Three free loopback ports; the CA client of this process searches only those.

    libca reads its environment once per process, so every IOC of the session
    serves on one of these ports.
    """
    import os

    ports = [_free_port(), _free_port(), _free_port()]
    saved = {k: os.environ.get(k) for k in ("EPICS_CA_ADDR_LIST", "EPICS_CA_AUTO_ADDR_LIST")}
    os.environ["EPICS_CA_ADDR_LIST"] = " ".join(f"127.0.0.1:{p}" for p in ports)
    os.environ["EPICS_CA_AUTO_ADDR_LIST"] = "NO"
    yield ports
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def start_ioc(port: int, prefix: str, *args: str):
    """Start ``autoscope ioc`` as a separate process; wait until its ``STATUS`` PV answers."""
    import os
    import subprocess
    import sys
    import time

    env = dict(os.environ, EPICS_CA_SERVER_PORT=str(port), EPICS_CA_ADDR_LIST=f"127.0.0.1:{port}",
               EPICS_CA_AUTO_ADDR_LIST="NO", PYTHONUNBUFFERED="1")  # fmt: skip
    cmd = [sys.executable, "-m", "autoscope.devices.cli", "--prefix", prefix,
           "--port", str(port), *args]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    probe = f"import asyncio, aioca; asyncio.run(aioca.caget('{prefix}STATUS', timeout=0.5))"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"IOC exited: {proc.stdout.read().decode()}")
        ok = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True)
        if ok.returncode == 0:
            return proc
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError("IOC did not answer within 60 s")


def stop_ioc(proc) -> None:
    """Stop an IOC process started by :func:`start_ioc`."""
    proc.terminate()
    try:
        proc.wait(10)
    except Exception:  # noqa: BLE001
        proc.kill()
        proc.wait(5)
    if proc.stdout is not None:
        proc.stdout.close()


@pytest.fixture(scope="module")
def ioc_process():
    """``ioc_process(port, prefix, *args) -> proc``; stopped after the module."""
    procs = []

    def start(port, prefix, *args):
        procs.append(start_ioc(port, prefix, *args))
        return procs[-1]

    yield start
    for proc in procs:
        stop_ioc(proc)
