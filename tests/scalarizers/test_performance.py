"""Whole-grid speed of the vectorised (non-fit) scalarizers: a 128 x 128 grid in <= 5 s each."""

from __future__ import annotations

import time

import numpy as np
import pytest

from autoscope import scalarizers

GRID, L, K = 128, 128, 32
BUDGET_S = 5.0


@pytest.fixture(scope="module")
def spectra():
    rng = np.random.default_rng(0)
    axis = np.linspace(-2.0, 40.0, L)
    centres = rng.uniform(5, 30, size=(GRID * GRID, 1))
    s = np.exp(-((axis - centres) ** 2) / 4.0) + rng.normal(0, 0.01, (GRID * GRID, L))
    return s.reshape(GRID, GRID, L), axis


@pytest.fixture(scope="module")
def loops(waveform, make_loop):
    rng = np.random.default_rng(1)
    v = waveform(L, 8.5, 0)
    vc = rng.uniform(0.5, 4.0, size=(GRID * GRID, 1))
    r = make_loop(v, vc, -vc, width=1.0) + rng.normal(0, 0.02, (GRID * GRID, L))
    return r.reshape(GRID, GRID, L), v


SPECTRUM_SPECS = [
    {"name": "band_integral", "params": {"low": 10.0, "high": 20.0}},
    {"name": "band_max", "params": {"low": 10.0, "high": 20.0}},
    {"name": "centroid", "params": {"low": 10.0, "high": 20.0}},
    {"name": "peak_ratio", "params": {"low1": 5, "high1": 15, "low2": 20, "high2": 30}},
    {"name": "peak_ratio", "params": {"low1": 5, "high1": 15, "low2": 20, "high2": 30,
                                      "method": "integral"}},
    {"name": "similarity", "params": {"target": np.linspace(0, 1, L).tolist(), "metric": "ssim"}},
    {"name": "similarity", "params": {"target": np.linspace(0, 1, L).tolist(), "metric": "cosine"}},
]  # fmt: skip
LOOP_SPECS = [
    {"name": "loop_area", "params": {}},
    {"name": "loop_height", "params": {}},
    {"name": "coercive_field", "params": {"which": "width"}},
    {"name": "imprint", "params": {}},
    {"name": "remanence", "params": {"which": "difference"}},
    {"name": "poly3", "params": {"coefficient": "A/B"}},
    {"name": "combine", "params": {"terms": [{"spec": "loop_area"}, {"spec": "loop_height"}]}},
]


def _timed(spec, data, axis):
    sc = scalarizers.from_spec(spec)
    t0 = time.perf_counter()
    out = sc.apply(data, axis)
    elapsed = time.perf_counter() - t0
    assert out.shape == (GRID, GRID)
    assert np.isfinite(out).mean() > 0.95
    return elapsed


@pytest.mark.slow
@pytest.mark.parametrize("spec", SPECTRUM_SPECS, ids=lambda s: s["name"])
def test_spectrum_scalarizers_on_a_128_grid(spectra, spec):
    assert _timed(spec, *spectra) <= BUDGET_S


@pytest.mark.slow
@pytest.mark.parametrize("spec", LOOP_SPECS, ids=lambda s: s["name"])
def test_loop_scalarizers_on_a_128_grid(loops, spec):
    assert _timed(spec, *loops) <= BUDGET_S


@pytest.mark.slow
@pytest.mark.parametrize(
    "spec",
    [
        {"name": "com_magnitude", "params": {}},
        {"name": "com_angle", "params": {}},
        {"name": "annular_integral", "params": {"inner": 2.0, "outer": 6.0}},
    ],
    ids=lambda s: s["name"],
)
def test_diffraction_scalarizers_on_a_128_grid(spec):
    rng = np.random.default_rng(2)
    axis = np.arange(K) - (K - 1) / 2
    patterns = rng.poisson(5.0, size=(GRID, GRID, K, K)).astype(float)
    assert _timed(spec, patterns, axis) <= BUDGET_S
