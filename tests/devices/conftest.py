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
