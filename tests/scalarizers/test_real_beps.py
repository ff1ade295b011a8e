"""Every loop of the real PbTiO3 BEPS grid through every loop scalarizer: no crash, NaN + reason.

Data: pycroscopy/DTMicroscope ``BEPS_PTO_50x50.h5`` (MIT), the copy shipped in
``autoscope/sim/data/`` (``$AUTOSCOPE_DATA`` may point at another copy).
"""

from __future__ import annotations

import numpy as np
import pytest

from autoscope import scalarizers
from autoscope.sim.replay import BEPS_FILE, data_path

LOOP_SPECS = [
    {"name": "loop_area", "params": {}},
    {"name": "loop_height", "params": {}},
    {"name": "coercive_field", "params": {"which": "positive"}},
    {"name": "coercive_field", "params": {"which": "negative"}},
    {"name": "coercive_field", "params": {"which": "width"}},
    {"name": "imprint", "params": {}},
    {"name": "remanence", "params": {"which": "positive"}},
    {"name": "remanence", "params": {"which": "difference"}},
    {"name": "poly3", "params": {"coefficient": "A/B"}},
    {"name": "poly3", "params": {"coefficient": "C"}},
]


@pytest.fixture(scope="module")
def beps():
    path = data_path(BEPS_FILE)
    import h5py

    with h5py.File(path, "r") as f:
        loops = f["Channel_000/generic/generic"][()]
        bias = f["Channel_000/generic/Voltage"][()]
    assert loops.shape == (50, 50, 64) and bias.shape == (64,)
    return loops, bias


def _check_nans_have_reasons(sc, values, flat, bias, limit=40):
    for i in np.flatnonzero(~np.isfinite(values.ravel()))[:limit]:
        reason = sc.explain(flat[i], bias)
        assert isinstance(reason, str) and reason, (sc, i)


@pytest.mark.parametrize("spec", LOOP_SPECS, ids=lambda s: f"{s['name']}-{s['params']}")
def test_every_loop_through_vectorised_loop_scalarizers(beps, spec):
    loops, bias = beps
    sc = scalarizers.from_spec(spec)
    sc.validate(bias, loops.shape[2:])
    values = sc.apply(loops, bias)
    assert values.shape == (50, 50)
    flat = loops.reshape(-1, 64)
    _check_nans_have_reasons(sc, values, flat, bias)
    finite = np.isfinite(values)
    if spec["name"] in ("loop_area", "loop_height", "remanence"):
        assert finite.all()
    elif spec["name"] in ("coercive_field", "imprint"):
        assert finite.mean() > 0.8  # near-flat, spike-only loops have no crossing
        v = values[finite]
        assert np.all((v >= -2 * bias.max()) & (v <= 2 * bias.max()))
    # the vectorised path agrees with the one-spectrum path
    for i in (0, 100, 1000, 1234, 2000, 2499):
        one = sc(flat[i], bias)
        assert one == pytest.approx(values.ravel()[i], rel=1e-9, abs=1e-15, nan_ok=True)


def test_spikes_do_not_set_the_loop_height(beps):
    loops, bias = beps
    flat = loops.reshape(-1, 64)
    raw = scalarizers.get("loop_height", despike=0).apply(flat, bias)
    clean = scalarizers.get("loop_height").apply(flat, bias)
    assert np.all(clean <= raw + 1e-15)
    # loop 0 holds an isolated spike of ~5.9e-2 on a loop of height ~5e-5
    assert raw[0] > 0.05 and clean[0] < 1e-4
    assert np.mean(clean < 0.5 * raw) > 0.25  # ~30 % of the loops carry spikes


def test_coercive_fields_of_a_clean_real_loop(beps, waveform):
    loops, bias = beps
    loop = loops.reshape(-1, 64)[1000]  # a clean, well-switching loop
    vp = scalarizers.get("coercive_field", which="positive")(loop, bias)
    vn = scalarizers.get("coercive_field", which="negative")(loop, bias)
    assert 3.5 < vp < 5.5 and -5.0 < vn < -3.0  # read off the raw data: ~4.5 V and ~-4.2 V
    fit = scalarizers.fit_loop(loop, bias)
    assert fit.success and fit.r2 > 0.95
    # with unequal widths a2/a3 are the kinks of the branches, not their mid-level crossings;
    # the fitted curve itself must cross where the data do
    fine = waveform(640, 8.5, 0)
    model = scalarizers.beps_loop(fine, fit.coefficients)
    for which, want in (("positive", vp), ("negative", vn)):
        got = scalarizers.get("coercive_field", which=which, despike=0)(model, fine)
        assert abs(got - want) < 0.5


def _beps_grid_check(flat, bias, rows):
    sc = scalarizers.get("beps_fit", coefficient="a2")
    fits = [scalarizers.fit_loop(flat[i], bias) for i in rows]
    for f in fits:
        assert f.success == (f.reason is None)
        assert set(f.coefficients) == set(scalarizers.beps.COEFFICIENTS)
        if f.success:
            assert all(np.isfinite(list(f.coefficients.values())))
            assert bias.min() <= f.coefficients["a2"] <= bias.max()
        else:
            assert all(np.isnan(list(f.coefficients.values())))
    # the scalarizer reports the same numbers and reasons
    for i, f in list(zip(rows, fits, strict=True))[:10]:
        assert sc(flat[i], bias) == pytest.approx(f.coefficients["a2"], nan_ok=True)
        assert sc.explain(flat[i], bias) == f.reason
    return fits


def test_beps_fit_on_a_subset_of_real_loops(beps):
    loops, bias = beps
    flat = loops.reshape(-1, 64)
    rows = [0, 1, 5, 7] + list(range(100, 2500, 200))  # spiky loops of the first row + a spread
    fits = _beps_grid_check(flat, bias, rows)
    assert np.mean([f.success for f in fits]) > 0.6
    assert not fits[1].success and fits[1].reason.startswith("poor fit: R^2")  # a spike burst


@pytest.mark.slow
def test_beps_fit_on_every_real_loop(beps):
    loops, bias = beps
    flat = loops.reshape(-1, 64)
    fits = _beps_grid_check(flat, bias, range(flat.shape[0]))
    ok = np.array([f.success for f in fits])
    assert ok.mean() > 0.8
    r2 = np.array([f.r2 for f in fits])
    assert np.nanmedian(r2[ok]) > 0.9
