"""Tests of the simulated SPM ferroelectric sample: domains, walls, PFM images, loops, AC sweeps."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from autoscope import scalarizers
from autoscope.errors import InputDataError
from autoscope.sim import _domains as dom
from autoscope.sim import make_sample
from autoscope.sim.spm import SPMSample, landau_khalatnikov_loops, triangle_bias

SHAPE = (64, 64)


@pytest.fixture(scope="module")
def loop_sample():
    return SPMSample(SHAPE, seed=3)


@pytest.fixture(scope="module")
def loops(loop_sample):
    return loop_sample.spectra().reshape(*SHAPE, -1)


def shoelace_area(axis, spectra):
    """Enclosed (V, y) area of each closed loop, V·a.u., positive for either sense."""
    x, y = axis, spectra
    return 0.5 * np.abs(np.sum(x * np.roll(y, -1, axis=-1) - np.roll(x, -1) * y, axis=-1))


def branch_crossing(v, y, rising):
    """Bias where y changes sign in the given direction (linear interpolation); all of them."""
    s = np.sign(y)
    idx = np.where((s[:-1] < 0) & (s[1:] > 0) if rising else (s[:-1] > 0) & (s[1:] < 0))[0]
    return [v[i] - y[i] * (v[i + 1] - v[i]) / (y[i + 1] - y[i]) for i in idx]


def test_contract_shapes_units_and_axis(loop_sample):
    s = loop_sample
    assert s.kind == "spm"
    assert s.image.shape == (*SHAPE, 3)
    assert s.channels == ("amplitude", "phase", "topography")
    assert s.channel_units == ("a.u.", "deg", "nm")
    assert s.shape == SHAPE and s.spectrum_shape == (64,)
    assert s.axis_units == "V" and s.pixel_units == "nm"
    assert s.default_scalarizer == {"name": "loop_area", "params": {}}
    # the BEPS waveform: 0 -> +8.5 -> -8.5 -> 0 V in steps of 8.5/16 V
    np.testing.assert_allclose(s.axis, triangle_bias(64, 8.5))
    assert s.axis[0] == 0.0 and s.axis[16] == 8.5 and s.axis[48] == -8.5
    np.testing.assert_allclose(np.abs(np.diff(s.axis)), 8.5 / 16)
    json.dumps(s.describe())
    for name, m in s.latent().items():
        assert m.shape == SHAPE, name


def test_same_seed_same_arrays_and_rebuild_from_params(loop_sample, loops):
    again = make_sample("spm", SHAPE, 3, **loop_sample.params())
    np.testing.assert_array_equal(again.image, loop_sample.image)
    np.testing.assert_array_equal(again.coercive_field, loop_sample.coercive_field)
    np.testing.assert_array_equal(again.spectra().reshape(*SHAPE, -1), loops)
    other = SPMSample(SHAPE, seed=4)
    assert not np.array_equal(other.variant, loop_sample.variant)
    assert not np.array_equal(other.image, loop_sample.image)


def test_phase_field_has_both_wall_kinds_and_ising_180_walls(loop_sample):
    s = loop_sample
    walls = s.wall_distance == 0
    assert (walls & (s.wall_kind == 180)).sum() > 50
    assert (walls & (s.wall_kind == 90)).sum() > 50
    assert set(np.unique(s.variant)) == {0, 1, 2, 3}
    # c+/c- walls stay Ising-like (gamma > 3): the in-plane component stays ~0 through them
    c_180 = walls & (s.wall_kind == 180) & (s.variant <= dom.C_MINUS)
    far_from_a = np.abs(s.polarization[1][c_180])
    assert np.median(far_from_a) < 0.02
    # deep in domains |P| is 1 (reduced units)
    deep = s.wall_distance >= 4
    np.testing.assert_allclose(np.hypot(*s.polarization)[deep], 1.0, atol=0.02)


def test_wall_maps_of_a_hand_made_pattern():
    v = np.zeros((6, 8), np.int8)
    v[:, 4:] = dom.C_MINUS  # 180 degree wall between columns 3 and 4
    v[0:2, 6:] = dom.A_PLUS  # a domain in the corner: 90 degree walls
    d, k = dom.wall_maps(v)
    assert d[3, 3] == 0 and d[3, 4] == 0 and k[3, 3] == 180
    assert d[3, 0] == 3.0 and k[3, 0] == 180
    assert k[0, 6] == 90 and d[0, 6] == 0  # a-domain side of the 90 degree wall
    assert k[2, 7] == 90 and d[2, 7] == 0  # c-domain side, below the a domain
    assert k[0, 7] == 90 and d[0, 7] == 1.0  # a-domain corner pixel, one px from both walls
    d0, k0 = dom.wall_maps(np.zeros((5, 5), np.int8))
    assert np.all(np.isinf(d0)) and np.all(k0 == 0)


def test_pfm_amplitude_dips_at_walls_and_phase_shows_domain_sign(loop_sample):
    s = loop_sample
    amp, phase, topo = np.moveaxis(s.image, -1, 0)
    c_dom = s.variant <= dom.C_MINUS
    interior = c_dom & (s.wall_distance >= 4)
    for kind in (180, 90):
        at_wall = c_dom & (s.wall_distance == 0) & (s.wall_kind == kind)
        assert amp[at_wall].mean() < 0.75 * amp[interior].mean(), kind
    assert amp[interior].mean() == pytest.approx(1.0, abs=0.05)
    up = (s.variant == dom.C_PLUS) & (s.wall_distance >= 4)
    down = (s.variant == dom.C_MINUS) & (s.wall_distance >= 4)
    assert np.all(phase[up] < 30) and np.all(phase[down] > 150)
    a_in = (s.variant >= dom.A_PLUS) & (s.wall_distance >= 3)
    assert abs(np.median(phase[a_in]) - 90.0) < 30.0
    # a domains sit lower than c domains (ferroelastic step)
    assert np.median(topo[a_in]) < np.median(topo[interior]) - 0.5 * s.physics.step_height


def test_loop_coercive_crossings_match_parameter_maps(loop_sample, loops):
    s = loop_sample
    v = s.axis
    step = 8.5 / 16
    up = slice(0, 17)  # 0 -> +Vmax: the state starts negative (steady-state cycle)
    down = slice(16, 49)  # +Vmax -> -Vmax
    worst = 0.0
    for r in range(SHAPE[0]):
        for c in range(SHAPE[1]):
            y = loops[r, c]
            plus = branch_crossing(v[up], y[up], rising=True)
            minus = branch_crossing(v[down], y[down], rising=False)
            assert len(plus) == 1 and len(minus) == 1, (r, c)
            ec, imp = s.coercive_field[r, c], s.imprint[r, c]
            worst = max(worst, abs(plus[0] - (imp + ec)), abs(minus[0] - (imp - ec)))
    assert worst <= step
    assert s.coercive_field.max() - s.coercive_field.min() > 4 * step  # the maps do vary


def test_loops_follow_landau_khalatnikov_equilibrium_and_remanence(loop_sample, loops):
    s = loop_sample
    # at +Vmax the state has relaxed onto the upper equilibrium: p - p^3 + e = 0, y = R p
    e = 2 / (3 * np.sqrt(3)) * (8.5 - s.imprint) / s.coercive_field
    p = loops[..., 16] / s.remanence
    np.testing.assert_allclose(p - p**3 + e, 0.0, atol=1e-6)
    # a pixel with no imprint at V = 0 sits at exactly +-R on the two branches
    y = landau_khalatnikov_loops(triangle_bias(64, 8.5), [2.0], [0.0], [0.7], 16)[0]
    np.testing.assert_allclose([y[32], y[0]], [0.7, -0.7], atol=1e-9)


def test_loop_opening_is_largest_at_180_walls(loop_sample, loops):
    s = loop_sample
    area = shoelace_area(s.axis, loops)
    c_dom = s.variant <= dom.C_MINUS
    at_180 = c_dom & (s.wall_distance == 0) & (s.wall_kind == 180)
    at_90 = c_dom & (s.wall_distance == 0) & (s.wall_kind == 90)
    interior = c_dom & (s.wall_distance >= 5)
    assert area[at_180].mean() > 1.8 * area[interior].mean()
    assert area[at_180].mean() > 2.0 * area[at_90].mean()
    # the extreme region is small and sits on 180 degree walls
    top = area >= np.quantile(area, 0.98)
    assert np.all((s.wall_kind[top] == 180) & (s.wall_distance[top] <= 1))
    assert (area > 0.8 * area.max()).mean() < 0.05


def _need(*names):
    missing = [n for n in names if n not in scalarizers.available()]
    if missing:
        pytest.skip(f"scalarizers {missing} not registered")


def test_truth_of_loop_scalarizers_matches_the_latent_maps(loop_sample, loops):
    _need("loop_area", "coercive_field", "remanence")
    s = loop_sample
    t = s.truth(s.default_scalarizer)
    assert t.shape == SHAPE
    np.testing.assert_allclose(t, shoelace_area(s.axis, loops), rtol=1e-9)
    step = 8.5 / 16
    for which, sign in (("positive", 1.0), ("negative", -1.0)):
        vc = s.truth({"name": "coercive_field", "params": {"which": which, "offset": "none"}})
        assert np.max(np.abs(vc - (s.imprint + sign * s.coercive_field))) <= step
    rem = s.truth({"name": "remanence", "params": {"which": "difference"}})
    np.testing.assert_allclose(rem / 2, s.remanence, rtol=0.03)


def test_truth_of_poly3_matches_the_coefficient_maps():
    _need("poly3")
    s = SPMSample((48, 48), seed=5, spectroscopy="ac_sweep")
    for k in "ABC":
        t = s.truth({"name": "poly3", "params": {"coefficient": k}})
        np.testing.assert_allclose(t, s.coefficients[k], atol=1e-9)


def test_ac_sweep_coefficients_recovered_by_polyfit():
    s = SPMSample((48, 48), seed=5, spectroscopy="ac_sweep")
    assert s.axis_name == "AC drive amplitude" and s.axis[0] == 0.0 and s.axis[-1] == 2.0
    assert s.default_scalarizer == {"name": "poly3", "params": {"coefficient": "B"}}
    rows, cols = np.divmod(np.arange(0, 48 * 48, 37), 48)
    ys = s.spectra(rows, cols)
    fit = np.polyfit(s.axis, ys.T, 3)  # (4, n): A, B, C, 0
    for i, k in enumerate("ABC"):
        np.testing.assert_allclose(fit[i], s.coefficients[k][rows, cols], atol=1e-9)
    np.testing.assert_allclose(fit[3], 0.0, atol=1e-9)
    # Rayleigh term largest at 180 degree walls, cubic clamping strongest at 90 degree walls
    w = s.wall_distance == 0
    b, a = s.coefficients["B"], s.coefficients["A"]
    assert b[w & (s.wall_kind == 180)].mean() > 3 * b[s.wall_distance >= 5].mean()
    assert a[w & (s.wall_kind == 90)].mean() < 2 * a[s.wall_distance >= 5].mean() < 0


def test_measure_adds_seeded_gaussian_noise(loop_sample):
    s = loop_sample
    clean = s.spectrum(10, 20)
    m1 = s.measure(10, 20, np.random.default_rng(7))
    m2 = s.measure(10, 20, np.random.default_rng(7))
    np.testing.assert_array_equal(m1, m2)
    many = np.stack([s.measure(10, 20, np.random.default_rng(i)) for i in range(50)])
    assert np.std(many - clean) == pytest.approx(s.physics.noise, rel=0.1)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"spectroscopy": "sts"}, "spectroscopy"),
        ({"coercivity": 2.0}, "unknown SPM parameter"),
        ({"coercive": float("nan")}, "coercive"),
        ({"wall_width": -1.0}, "wall_width"),
        ({"n_points": 30}, "multiple of 4"),
        ({"relax_steps": 2.5}, "relax_steps"),
        ({"v_max": 3.0}, "would not switch"),
        ({"seed": -1}, "seed"),
        ({"shape": (4, 64)}, "shape"),
    ],
)
def test_bad_input_raises(kwargs, match):
    kw = {"shape": (32, 32), "seed": 0, **kwargs}
    with pytest.raises(InputDataError, match=match):
        SPMSample(**kw)


def test_ac_sweep_does_not_need_a_switching_waveform():
    s = SPMSample((32, 32), seed=0, spectroscopy="ac_sweep", v_max=3.0, n_points=30)
    assert s.axis.shape == (30,)


def test_pixel_outside_grid_raises(loop_sample):
    with pytest.raises(InputDataError, match="outside"):
        loop_sample.spectrum(64, 0)


@pytest.mark.slow
def test_128_grid_generates_in_under_5_s():
    dom._relaxed_field.cache_clear()
    t0 = time.perf_counter()
    s = SPMSample((128, 128), seed=11)
    gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    spectra = s.spectra()
    full = time.perf_counter() - t0
    assert spectra.shape == (128 * 128, 64)
    assert gen < 5.0 and full < 5.0
