"""Hysteresis-loop scalarizers against tanh and Landau loops with known coercive fields."""

from __future__ import annotations

import numpy as np
import pytest

from autoscope import scalarizers
from autoscope.scalarizers import branches, hampel

VMAX, N = 8.5, 64
STEP = 4 * VMAX / N  # one bias step of the triangle waveform, V


def landau_loop(v, alpha=-1.0, beta=1.0, scale=1.0, imprint=0.0):
    """Quasi-static Landau loop: P follows a stable root of beta P^3 + alpha P = V - imprint.

    The branch jumps where its minimum vanishes, at E = ±Ec, Ec = 2 |alpha|^1.5 / (3 sqrt(3 beta)).
    """
    p_prev = -np.sqrt(-alpha / beta)
    start = int(np.argmin(v))  # begin at -Vmax on the lower branch
    out = np.empty_like(v)
    for k in range(v.size):
        i = (start + k) % v.size
        roots = np.roots([beta, 0.0, alpha, -(v[i] - imprint) / scale])
        roots = roots[np.abs(roots.imag) < 1e-9].real
        stable = roots[3 * beta * roots**2 + alpha > 0]
        p_prev = stable[np.argmin(np.abs(stable - p_prev))]
        out[i] = p_prev
    return out


@pytest.mark.parametrize("start", [0, 5, 16, 37, 63])
@pytest.mark.parametrize(("vc_up", "vc_down"), [(2.3, -1.7), (4.1, -4.4), (0.9, -3.05)])
def test_tanh_loop_coercive_imprint_remanence(waveform, make_loop, start, vc_up, vc_down):
    v = waveform(N, VMAX, start)
    r = make_loop(v, vc_up, vc_down, width=0.6, height=2e-5, offset=3e-6)
    get = scalarizers.get
    assert abs(get("coercive_field", which="positive")(r, v) - vc_up) < STEP
    assert abs(get("coercive_field", which="negative")(r, v) - vc_down) < STEP
    assert abs(get("coercive_field", which="width")(r, v) - (vc_up - vc_down)) < STEP
    assert abs(get("imprint")(r, v) - (vc_up + vc_down) / 2) < STEP
    r_pos = 3e-6 + 2e-5 * np.tanh(-vc_down / 0.6)  # decreasing branch at V = 0
    r_neg = 3e-6 + 2e-5 * np.tanh(-vc_up / 0.6)
    assert get("remanence", which="positive")(r, v) == pytest.approx(r_pos, rel=0.02)
    assert get("remanence", which="negative")(r, v) == pytest.approx(r_neg, rel=0.02)
    assert get("remanence", which="difference")(r, v) == pytest.approx(r_pos - r_neg, rel=0.02)
    assert get("loop_height")(r, v) == pytest.approx(r.max() - r.min())


@pytest.mark.parametrize("imprint", [0.0, 1.3, -2.2])
def test_landau_loop_coercive_fields(waveform, imprint):
    v = waveform(N, VMAX, 11)
    alpha, beta, scale = -1.0, 1.0, 3.0  # E = V / scale -> Vc = scale * Ec
    ec = scale * 2 * abs(alpha) ** 1.5 / (3 * np.sqrt(3 * beta))
    r = landau_loop(v, alpha, beta, scale, imprint)
    assert abs(scalarizers.get("coercive_field")(r, v) - (ec + imprint)) < STEP
    assert abs(scalarizers.get("coercive_field", which="negative")(r, v) - (imprint - ec)) < STEP
    assert abs(scalarizers.get("imprint")(r, v) - imprint) < STEP


def test_loop_area_is_the_enclosed_polygon_area():
    # an ellipse V = a cos t, R = b sin t sampled at n points: the inscribed n-gon has
    # area (n / 2) a b sin(2 pi / n) exactly
    n, a, b = 40, 5.0, 0.3
    t = 2 * np.pi * np.arange(n) / n
    v, r = a * np.cos(t), b * np.sin(t)
    area = scalarizers.get("loop_area", despike=0)(r, v)
    assert area == pytest.approx(n / 2 * a * b * np.sin(2 * np.pi / n), rel=1e-12)
    # orientation does not matter
    assert scalarizers.get("loop_area", despike=0)(-r, v) == pytest.approx(area, rel=1e-12)


def test_loop_area_of_a_tanh_loop(waveform, make_loop):
    v = waveform(4096, VMAX, 100)  # fine sampling: the polygon converges to the integral
    vv = np.linspace(-VMAX, VMAX, 200001)
    exact = np.trapezoid(np.tanh((vv + 1.5) / 0.7) - np.tanh((vv - 2.0) / 0.7), vv)
    r = make_loop(v, 2.0, -1.5, width=0.7)
    assert scalarizers.get("loop_area")(r, v) == pytest.approx(exact, rel=1e-3)
    coarse = waveform(N, VMAX, 3)
    assert scalarizers.get("loop_area")(make_loop(coarse, 2.0, -1.5, 0.7), coarse) == pytest.approx(
        exact, rel=0.03
    )


def test_branches_of_the_real_waveform(waveform):
    v = waveform(N, VMAX, 0)
    up, down = branches(v)
    assert np.all(np.diff(v[up]) > 0) and np.all(np.diff(v[down]) > 0)
    assert v[up][[0, -1]].tolist() == [-VMAX, VMAX] == v[down][[0, -1]].tolist()
    assert len(up) + len(down) == N + 2  # the two turning points belong to both


def test_spikes_are_removed_before_scalarizing(waveform, make_loop):
    v = waveform(N, VMAX, 0)
    clean = make_loop(v, 2.0, -2.5, width=0.5)
    dirty = clean.copy()
    dirty[[5, 40]] += [80.0, -60.0]  # single-point spikes
    dirty[22:25] += [30.0, 55.0, 41.0]  # a burst of three
    np.testing.assert_allclose(hampel(dirty, 9, 4.0, cyclic=True), clean, atol=0.25)
    for name in ("loop_area", "loop_height", "coercive_field", "imprint", "remanence"):
        sc = scalarizers.get(name)
        assert sc(dirty, v) == pytest.approx(sc(clean, v), rel=0.05, abs=STEP / 2)
    assert scalarizers.get("loop_height", despike=0)(dirty, v) > 50  # off: spikes dominate
    assert scalarizers.get("loop_height")(dirty, v) == pytest.approx(2.0, abs=0.01)


def test_clean_loops_are_not_altered_by_despiking(waveform, make_loop):
    v = waveform(N, VMAX, 9)
    r = make_loop(v, 3.0, -1.0, width=0.2)  # very steep switching edges
    np.testing.assert_array_equal(hampel(r, 9, 4.0, cyclic=True), r)


def test_nan_policy_and_reasons(waveform, make_loop):
    v = waveform(N, VMAX, 0)
    rising = np.diff(np.append(v, v[0])) > 0
    flat_ish = np.where(rising & (v > 3.0), 2e-6, 1e-6)  # the decreasing branch stays flat
    positive = scalarizers.get("coercive_field", which="positive")
    assert abs(positive(flat_ish, v) - 3.0) < STEP
    assert positive.explain(flat_ish, v) is None
    for which in ("negative", "width"):
        cf = scalarizers.get("coercive_field", which=which)
        assert np.isnan(cf(flat_ish, v))
        assert (
            cf.explain(flat_ish, v) == "the decreasing-bias branch never crosses the offset level"
        )
    assert np.isnan(scalarizers.get("imprint")(flat_ish, v))
    cf = scalarizers.get("coercive_field")
    r = make_loop(v, 2.0, -2.0)
    assert cf.explain(r, v) is None
    r[3] = np.nan
    r[40:42] = [np.inf, -np.inf]  # must not even warn (pytest turns warnings into errors)
    for name in ("loop_area", "loop_height", "coercive_field", "imprint", "remanence", "poly3"):
        sc = scalarizers.get(name)
        assert np.isnan(sc(r, v)), name
        assert "non-finite" in sc.explain(r, v), name
        out = sc.apply(np.stack([r, make_loop(v, 2.0, -2.0)]), v)
        assert np.isnan(out[0]) and np.isfinite(out[1]), name


def test_offset_none_uses_zero_level(waveform, make_loop):
    v = waveform(N, VMAX, 0)
    r = make_loop(v, 2.0, -2.0, width=1.0, offset=0.5)  # shifted up by half the height
    mid = scalarizers.get("coercive_field")(r, v)
    zero = scalarizers.get("coercive_field", offset="none")(r, v)
    assert abs(mid - 2.0) < STEP
    assert abs(zero - (2.0 + np.arctanh(-0.5))) < STEP  # tanh((V - 2) / 1) = -0.5


@pytest.mark.parametrize(
    "spec",
    [
        {"name": "loop_area", "params": {}},
        {"name": "loop_height", "params": {"despike": 0}},
        {"name": "coercive_field", "params": {"which": "width"}},
        {"name": "imprint", "params": {"offset": "none"}},
        {"name": "remanence", "params": {"which": "negative"}},
        {"name": "poly3", "params": {"coefficient": "C"}},
    ],
    ids=lambda s: s["name"],
)
def test_vectorised_equals_one_by_one(waveform, make_loop, spec):
    rng = np.random.default_rng(3)
    v = waveform(N, VMAX, 7)
    batch = np.stack(
        [
            make_loop(v, rng.uniform(0.5, 4), rng.uniform(-4, -0.5), rng.uniform(0.2, 1.0))
            + rng.normal(0, 0.05, N)
            for _ in range(25)
        ]
    )
    sc = scalarizers.from_spec(spec)
    one = np.array([sc(s, v) for s in batch])
    np.testing.assert_allclose(sc.apply(batch, v), one, rtol=1e-12, atol=1e-15)
