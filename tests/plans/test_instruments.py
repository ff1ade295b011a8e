"""dkl_explore end to end on each simulated instrument, in an embedded catalog and over HTTP."""

from __future__ import annotations

import numpy as np
import pytest

from autoscope import plans, scalarizers, trace

FAST_DKL = {"name": "dkl", "params": {"n_iter": 15, "warm_iter": 4}}


def _instrument(kind):
    from autoscope.devices.sim import SimMicroscope, SimSPM, SimSTEM
    from autoscope.sim import make_sample

    sample = make_sample(kind, shape=(32, 32), seed=0)
    if kind == "stem":
        return SimSTEM(sample=sample, seed=0)
    if kind == "spm":
        return SimSPM(sample=sample, seed=0)
    return SimMicroscope(sample, seed=0)


def _check(tr, col, mic, trace_matches, budget):
    trace_matches(tr, col)
    sample = mic.sample
    assert tr.n_measured == budget and len(set(tr.measured_ids)) == budget
    assert tr.spectra.shape == (budget, *sample.spectrum_shape)
    np.testing.assert_allclose(tr.image, sample.image)
    np.testing.assert_array_equal(tr.axis, sample.axis)
    f = scalarizers.from_spec(tr.specs["scalarizer"])
    np.testing.assert_allclose(tr.values, f.apply(tr.spectra, tr.axis), rtol=1e-12, equal_nan=True)
    # the trace rebuilds the sample: same image, and its truth is what the values scatter around
    rebuilt = tr.sample()
    np.testing.assert_array_equal(rebuilt.image, sample.image)
    truth = rebuilt.truth(tr.specs["scalarizer"])[tr.rows, tr.cols]
    ok = np.isfinite(tr.values) & np.isfinite(truth)
    assert ok.sum() >= budget - 1
    assert np.corrcoef(truth[ok], tr.values[ok])[0, 1] > 0.5
    assert tr.stop["exit_status"] == "success" and tr.stop["reason"] == "budget"


@pytest.mark.parametrize("kind", ["stem", "spm", "fourd"])
def test_each_instrument_embedded_catalog(kind, runner, module_catalog, trace_matches):
    mic = _instrument(kind)
    plan = plans.dkl_explore(mic, mic.sample.default_scalarizer, "ucb", budget=8, n_seed=4,
                             patch_size=8, seed=0, model=FAST_DKL)  # fmt: skip
    uid, col = runner(plan, module_catalog)
    _check(trace.load(uid, module_catalog), col, mic, trace_matches, 8)


@pytest.mark.server
@pytest.mark.parametrize("kind", ["stem", "spm", "fourd"])
def test_each_instrument_tiled_server(kind, runner, tiled_server, trace_matches):
    from autoscope.storage import close_catalog, open_catalog

    uri, api_key = tiled_server
    client = open_catalog(uri, api_key=api_key)
    try:
        mic = _instrument(kind)
        plan = plans.dkl_explore(mic, mic.sample.default_scalarizer, "ei", budget=8, n_seed=4,
                                 patch_size=8, seed=1, model=FAST_DKL)  # fmt: skip
        uid, col = runner(plan, client)
        _check(trace.load(uid, client), col, mic, trace_matches, 8)
        assert trace.load(-1, client).uid == uid
    finally:
        close_catalog(client)
    # the same run found by URI alone (the API key from the environment)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TILED_API_KEY", api_key)
        again = trace.load(uid, uri)
    np.testing.assert_array_equal(again.spectra, col_spectra(col))


def col_spectra(col):
    key = col.one("start")["autoscope"]["keys"]["spectrum"]
    return np.asarray(col.data("primary", key))
