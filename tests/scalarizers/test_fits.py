"""Loop fits: the 9-parameter BEPS loop function and the poly3 cubic, against known coefficients."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from autoscope import scalarizers
from autoscope.scalarizers import beps_coefficients, beps_loop, fit_loop, poly3_coefficients

VMAX, N = 8.5, 64
STEP = 4 * VMAX / N
TRUE = {"a0": -1e-5, "a1": 3e-5, "a2": 2.1, "a3": -3.4, "a4": 1e-7,
        "b0": 0.8, "b1": 1.5, "b2": 1.1, "b3": 0.6}  # fmt: skip


def test_loop_function_shape(waveform):
    v = waveform(N, VMAX, 0)
    r = beps_loop(v, TRUE)
    rising = np.diff(np.append(v, v[0])) > 0
    # saturation: a0 (+ slope) far below the switching biases, a0 + a1 far above
    i_low, i_high = int(np.argmin(v)), int(np.argmax(v))
    assert r[i_low] == pytest.approx(TRUE["a0"] + TRUE["a4"] * -VMAX, rel=1e-3)
    assert r[i_high] == pytest.approx(TRUE["a0"] + TRUE["a1"] + TRUE["a4"] * VMAX, rel=1e-3)
    # at V = c each branch sits at b_left / (b_left + b_right) of the height
    step_up = beps_loop(np.array([0.0, TRUE["a2"], 8.0, 0.0]), TRUE)[1]  # on a rising segment
    assert step_up == pytest.approx(
        TRUE["a0"] + TRUE["a1"] * 0.8 / 2.3 + TRUE["a4"] * TRUE["a2"], rel=1e-9
    )
    # hysteresis: at V = 0 the decreasing branch (after +Vmax) is above the increasing one
    j_up = np.nonzero(rising & (v == 0))[0]
    j_down = np.nonzero(~rising & (v == 0))[0]
    assert r[j_down[0]] > r[j_up[0]]


@pytest.mark.parametrize("start", [0, 7, 30, 50])
def test_beps_fit_recovers_the_coefficients(waveform, start):
    v = waveform(N, VMAX, start)
    r = beps_loop(v, TRUE)
    fit = fit_loop(r, v)
    assert fit.success and fit.reason is None
    assert fit.r2 > 0.9999
    for k, want in TRUE.items():
        assert fit.coefficients[k] == pytest.approx(want, rel=1e-3, abs=1e-9), k


def test_beps_fit_with_noise_and_spikes(waveform):
    rng = np.random.default_rng(4)
    v = waveform(N, VMAX, 12)
    r = beps_loop(v, TRUE) + rng.normal(0, 0.02 * TRUE["a1"], N)
    r[[9, 33]] += [40 * TRUE["a1"], -25 * TRUE["a1"]]
    c = beps_coefficients(r, v)
    assert abs(c["a2"] - TRUE["a2"]) < STEP
    assert abs(c["a3"] - TRUE["a3"]) < STEP
    assert c["a1"] == pytest.approx(TRUE["a1"], rel=0.05)
    assert c["r2"] > 0.99
    for k in TRUE:
        sc = scalarizers.get("beps_fit", coefficient=k)
        assert sc(r, v) == c[k]
    assert scalarizers.get("beps_fit", coefficient="r2")(r, v) == c["r2"]


def test_beps_fit_of_an_inverted_loop(waveform):
    v = waveform(N, VMAX, 0)
    inverted = dict(TRUE, a0=2e-5, a1=-3e-5)
    c = fit_loop(beps_loop(v, inverted), v).coefficients
    assert c["a1"] == pytest.approx(-3e-5, rel=1e-3)
    assert c["a2"] == pytest.approx(TRUE["a2"], abs=1e-3)


def test_beps_fit_failures_are_nan_with_reasons(waveform):
    v = waveform(N, VMAX, 0)
    rng = np.random.default_rng(0)
    flat = np.full(N, 3.0)
    fit = fit_loop(flat, v)
    assert not fit.success and fit.reason == "loop is flat (zero peak-to-peak range)"
    assert all(np.isnan(x) for x in fit.coefficients.values())
    noise = rng.normal(size=N)
    poor = fit_loop(noise, v, min_r2=0.99)
    assert not poor.success and poor.reason.startswith("poor fit: R^2 = ")
    assert np.isfinite(poor.r2) and poor.r2 < 0.99
    sc = scalarizers.get("beps_fit", coefficient="a2", min_r2=0.99)
    assert np.isnan(sc(noise, v)) and sc.explain(noise, v) == poor.reason
    nan = beps_loop(v, TRUE)
    nan[5] = np.inf
    assert fit_loop(nan, v).reason == "loop holds non-finite values"
    assert scalarizers.get("beps_fit").explain(beps_loop(v, TRUE), v) is None


def test_beps_fit_is_thread_safe(waveform):
    rng = np.random.default_rng(5)
    v = waveform(N, VMAX, 0)
    loops = [
        beps_loop(v, dict(TRUE, a2=rng.uniform(1, 4), a3=rng.uniform(-4, -1)))
        + rng.normal(0, 1e-6, N)
        for _ in range(12)
    ]
    sc = scalarizers.get("beps_fit", coefficient="a3")
    serial = [sc(r, v) for r in loops]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(lambda r: sc(r, v), loops))
    assert parallel == serial


def test_poly3_recovers_exact_coefficients():
    x = np.linspace(-3.0, 5.0, 40)  # e.g. an AC bias sweep, V
    a, b, c = 0.7, -1.3, 2.9
    y = a * x**3 + b * x**2 + c * x
    got = poly3_coefficients(y, x)
    assert got["A"] == pytest.approx(a, rel=1e-10)
    assert got["B"] == pytest.approx(b, rel=1e-10)
    assert got["C"] == pytest.approx(c, rel=1e-10)
    assert got["A/B"] == pytest.approx(a / b, rel=1e-10)
    for k in ("A", "B", "C", "A/B"):
        assert scalarizers.get("poly3", coefficient=k)(y, x) == pytest.approx(got[k], rel=1e-12)
    batch = np.stack([y, 2 * y, x**3])
    out = scalarizers.get("poly3", coefficient="A/B").apply(batch, x)
    assert out[:2] == pytest.approx([a / b, a / b], rel=1e-9)
    assert np.isnan(out[2])  # B = 0 (to round-off)
    reason = scalarizers.get("poly3", coefficient="A/B").explain(x**3, x)
    assert reason == "B = 0 (to round-off): A/B is undefined"
    assert scalarizers.get("poly3", coefficient="A").explain(x**3, x) is None


def test_poly3_on_a_loop_waveform(waveform):
    v = waveform(N, VMAX, 0)  # both branches fitted together, duplicated biases are fine
    y = 0.01 * v**3 - 0.2 * v
    got = poly3_coefficients(y, v)
    assert got["A"] == pytest.approx(0.01, rel=1e-9)
    assert got["B"] == pytest.approx(0.0, abs=1e-12)
    assert got["C"] == pytest.approx(-0.2, rel=1e-9)
