"""Physics, determinism and input checks of the simulated 4D-STEM sample."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from autoscope import scalarizers
from autoscope.errors import InputDataError
from autoscope.sim import make_sample
from autoscope.sim.fourd import FourDSample

# documented defaults, written out independently of the source
PX, ALPHA, DOSE, K, STEP = 0.1, 2.0, 1.0e4, 32, 2.5
Q, LAM, RC, E0, W = 0.1, 1.0, 0.15, 0.5, 0.5


@pytest.fixture(scope="module")
def sample():
    return FourDSample(shape=(48, 48), seed=2)


def com(patterns, axis):
    """Centre of mass (x along pattern columns, y along rows), mrad; patterns (n, K, K)."""
    n = patterns.sum((1, 2))
    return np.stack(
        [(patterns.sum(1) * axis).sum(1) / n, (patterns.sum(2) * axis).sum(1) / n], axis=1
    )


def test_axis_units_and_shapes(sample):
    assert sample.kind == "fourd" and sample.axis_units == "mrad"
    assert sample.spectrum_shape == (K, K) and sample.axis.shape == (K,)
    np.testing.assert_allclose(sample.axis, (np.arange(K) - 15.5) * STEP)
    assert sample.field.shape == (48, 48, 2) and sample.shift.shape == (48, 48, 2)
    assert sample.shift_per_field == ALPHA
    np.testing.assert_allclose(sample.shift, -ALPHA * sample.field)
    assert sample.default_scalarizer == {"name": "com_magnitude", "params": {}}
    assert sample.chunk_pixels * K * K * 8 <= 16 * 2**20  # bounded memory per chunk


def test_field_follows_documented_law(sample):
    pos, q = sample.defects["positions"], sample.defects["charge"]
    kind = sample.columns["kind"]
    assert len(q) == np.count_nonzero(kind != 0) and len(q) > 0
    np.testing.assert_array_equal(np.sort(np.unique(np.abs(q))), [Q])
    p0, n = sample.wall["point"], sample.wall["normal"]
    assert np.hypot(*n) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    for r, c in rng.integers(0, 48, size=(25, 2)):
        s = ((r - p0[0]) * n[0] + (c - p0[1]) * n[1]) * PX
        e = -E0 * np.tanh(s / W) * np.array([n[1], n[0]])
        for (dr, dc), qj in zip(pos, q, strict=True):
            dx, dy = (c - dc) * PX, (r - dr) * PX
            rho = np.sqrt(dx**2 + dy**2 + RC**2)
            e += qj * np.exp(-rho / LAM) * (1 / rho**2 + 1 / (LAM * rho)) * np.array([dx, dy]) / rho
        np.testing.assert_allclose(sample.field[r, c], e, rtol=1e-10, atol=1e-12)


def test_polarisation_steps_across_the_wall(sample):
    pol = sample.polarisation
    p0, n = sample.wall["point"], sample.wall["normal"]
    rr, cc = np.mgrid[0:48, 0:48]
    s = ((rr - p0[0]) * n[0] + (cc - p0[1]) * n[1]) * PX
    assert pol[s > 2].min() > 0.99 and pol[s < -2].max() < -0.99
    # far from defects and wall, the field is the uniform depolarising field, opposite per side
    far = np.ones((48, 48), bool)
    for dr, dc in sample.defects["positions"]:
        far &= np.hypot(rr - dr, cc - dc) * PX > 2.0
    ex = sample.field[..., 0] * n[1] + sample.field[..., 1] * n[0]  # along the normal
    plus, minus = far & (s > 2), far & (s < -2)
    assert plus.sum() > 10 and minus.sum() > 10
    np.testing.assert_allclose(ex[plus], -E0, atol=0.02)
    np.testing.assert_allclose(ex[minus], E0, atol=0.02)


def test_com_of_noise_free_patterns_recovers_shift(sample):
    rr, cc = np.divmod(np.arange(48 * 48), 48)
    pats = sample.spectra()
    assert pats.shape == (48 * 48, K, K)
    np.testing.assert_allclose(pats.sum((1, 2)), DOSE)
    c = com(pats, sample.axis)
    shift = sample.shift[rr, cc]
    assert np.abs(c - shift).max() < 0.005  # mrad
    slope, icpt = np.polyfit(sample.field[rr, cc].ravel(), c.ravel(), 1)
    assert slope == pytest.approx(-ALPHA, rel=0.005) and abs(icpt) < 1e-3
    assert np.abs(shift).max() > 1.0  # fields large enough to matter (> 0.4 px)


def test_com_of_noisy_patterns_recovers_field(sample):
    rng = np.random.default_rng(5)
    pix = rng.integers(0, 48, size=(400, 2))
    noisy = np.stack([sample.measure(r, c, rng) for r, c in pix])
    assert np.array_equal(noisy, np.round(noisy))
    c = com(noisy, sample.axis)
    e = sample.field[pix[:, 0], pix[:, 1]]
    slope = np.polyfit(e.ravel(), c.ravel(), 1)[0]
    assert slope == pytest.approx(-ALPHA, rel=0.03)
    # residual scatter = counting noise of the CoM, sqrt(<k^2>/N) per axis
    clean = sample.spectrum(*pix[0])
    kx2 = (clean.sum(0) * (sample.axis - sample.shift[*pix[0], 0]) ** 2).sum() / DOSE
    resid = c - sample.shift[pix[:, 0], pix[:, 1]]
    assert resid.std() == pytest.approx(np.sqrt(kx2 / DOSE), rel=0.15)


def test_poisson_counts_at_the_dose(sample):
    rng = np.random.default_rng(9)
    clean = sample.spectrum(20, 30)
    m = np.stack([sample.measure(20, 30, rng) for _ in range(300)])
    assert m.sum((1, 2)).mean() == pytest.approx(DOSE, rel=0.01)
    sel = clean > 5
    assert (m.var(0)[sel] / clean[sel]).mean() == pytest.approx(1.0, abs=0.05)
    assert np.abs(m.mean(0) - clean).max() < 5 * np.sqrt(clean.max() / 300)


def test_com_magnitude_truth(sample):
    if "com_magnitude" not in scalarizers.available():
        pytest.skip("com_magnitude scalarizer not registered yet")
    truth = sample.truth(sample.default_scalarizer)
    np.testing.assert_allclose(truth, np.hypot(*np.moveaxis(sample.shift, -1, 0)), atol=0.005)


def test_extreme_field_region_is_small_and_at_defects(sample):
    mag = np.hypot(*np.moveaxis(sample.field, -1, 0))
    top = mag >= np.quantile(mag, 0.99)
    rr, cc = np.nonzero(top)
    pos = sample.defects["positions"]
    dist = np.min(np.hypot(rr[:, None] - pos[:, 0], cc[:, None] - pos[:, 1]), axis=1) * PX
    assert dist.max() < 0.5  # nm
    assert mag.max() > 2.0 * np.median(mag)


def test_haadf_heavy_a_columns_brighter():
    s = FourDSample(shape=(64, 64), seed=4, vacancy_fraction=0.05, substitution_fraction=0.05)
    pos, kind, sub = s.columns["positions"], s.columns["kind"], s.columns["sublattice"]
    rc = np.rint(pos).astype(int)
    ok = (rc >= 0).all(1) & (rc < 64).all(1)
    val = s.image[rc[ok, 0], rc[ok, 1]]
    a_host = val[(sub[ok] == 0) & (kind[ok] == 0)].mean()
    b_host = val[(sub[ok] == 1)].mean()
    subst = val[kind[ok] == 2].mean()
    vac = val[kind[ok] == 1].mean()
    assert a_host > subst > b_host > vac


def test_determinism_and_seeds():
    a = FourDSample(shape=(32, 40), seed=1)
    b = make_sample("fourd", shape=(32, 40), seed=1)
    assert isinstance(b, FourDSample)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.field, b.field)
    np.testing.assert_array_equal(a.spectrum(5, 6), b.spectrum(5, 6))
    c = FourDSample(shape=(32, 40), seed=2)
    assert not np.array_equal(a.image, c.image)
    assert not np.array_equal(a.field, c.field)


def test_params_json_and_rebuild(sample):
    p = sample.params()
    assert p["dose"] == DOSE and p["n_detector"] == K
    d = json.loads(json.dumps(sample.describe()))
    assert d["spectrum_shape"] == [K, K] and d["axis_units"] == "mrad"
    again = FourDSample(shape=(48, 48), seed=2, **p)
    np.testing.assert_array_equal(again.field, sample.field)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"shape": (5, 32)}, "shape"),
        ({"seed": "a"}, "seed"),
        ({"dose": float("nan")}, "'dose'"),
        ({"dose": 0.0}, "'dose'"),
        ({"screening_length": -1.0}, "'screening_length'"),
        ({"n_detector": 31.5}, "'n_detector'"),
        ({"shift_per_field": 20.0}, "leaves the detector"),
        ({"convergence_angle": 38.0}, "leaves the detector"),
        ({"wall": 1}, "unknown parameter"),
    ],
)
def test_bad_input_raises(kwargs, match):
    kwargs = {"shape": (32, 32), **kwargs}
    with pytest.raises(InputDataError, match=match):
        FourDSample(**kwargs)


def test_bad_pixels_raise(sample):
    with pytest.raises(InputDataError):
        sample.spectrum(48, 0)
    with pytest.raises(InputDataError):
        sample.measure(-1, 0, np.random.default_rng(0))


def test_generation_at_128_is_fast():
    t0 = time.perf_counter()
    s = FourDSample(shape=(128, 128), seed=0)
    t1 = time.perf_counter()
    rr, cc = np.divmod(np.arange(0, 128 * 128, 7), 128)
    c = com(s.spectra(rr, cc), s.axis)
    t2 = time.perf_counter()
    assert t1 - t0 < 5.0 and t2 - t1 < 5.0
    assert np.abs(c - s.shift[rr, cc]).max() < 0.005
