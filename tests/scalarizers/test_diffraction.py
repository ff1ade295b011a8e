"""4D-STEM scalarizers on shifted discs with known centre-of-mass shifts."""

from __future__ import annotations

import numpy as np
import pytest

from autoscope import scalarizers

K, PX = 32, 0.5  # detector pixels and mrad per pixel
AXIS = (np.arange(K) - (K - 1) / 2) * PX  # mrad, centred on 0


def disc(dx, dy, radius=4.0, intensity=1.0, oversample=8):
    """A uniformly bright disc centred at (dx, dy) mrad, anti-aliased by oversampling."""
    fine = (np.arange(K * oversample) - (K * oversample - 1) / 2) * PX / oversample
    inside = (fine[None, :] - dx) ** 2 + (fine[:, None] - dy) ** 2 <= radius**2
    return intensity * inside.reshape(K, oversample, K, oversample).mean(axis=(1, 3))


@pytest.mark.parametrize(("dx", "dy"), [(0.0, 0.0), (0.8, -0.3), (-1.7, 2.45), (0.05, 0.0)])
def test_com_of_shifted_disc(dx, dy):
    p = disc(dx, dy)
    tol = 0.02 * PX
    assert scalarizers.get("com_x")(p, AXIS) == pytest.approx(dx, abs=tol)
    assert scalarizers.get("com_y")(p, AXIS) == pytest.approx(dy, abs=tol)
    assert scalarizers.get("com_magnitude")(p, AXIS) == pytest.approx(np.hypot(dx, dy), abs=tol)
    if np.hypot(dx, dy) > 0.5:
        assert scalarizers.get("com_angle")(p, AXIS) == pytest.approx(np.arctan2(dy, dx), abs=0.02)
    # relative to a given centre
    shifted = scalarizers.get("com_x", center=[dx, dy])
    assert shifted(p, AXIS) == pytest.approx(0.0, abs=tol)


def test_com_with_poisson_noise_and_batch():
    rng = np.random.default_rng(1)
    shifts = rng.uniform(-2, 2, size=(20, 2))
    clean = np.stack([disc(dx, dy, intensity=500.0) for dx, dy in shifts])
    noisy = rng.poisson(clean).astype(float)
    for name, k in (("com_x", 0), ("com_y", 1)):
        sc = scalarizers.get(name)
        out = sc.apply(noisy, AXIS)
        assert out.shape == (20,)
        np.testing.assert_allclose(out, shifts[:, k], atol=0.05)
        np.testing.assert_allclose(out, [sc(p, AXIS) for p in noisy], rtol=1e-12, atol=1e-12)
    grid = noisy.reshape(4, 5, K, K)
    assert scalarizers.get("com_magnitude").apply(grid, AXIS).shape == (4, 5)


def test_com_undefined_for_empty_pattern():
    sc = scalarizers.get("com_magnitude")
    assert np.isnan(sc(np.zeros((K, K)), AXIS))
    assert sc.explain(np.zeros((K, K)), AXIS) == "total pattern intensity is not positive"
    bad = disc(0.0, 0.0)
    bad[3, 3], bad[3, 4] = np.inf, -np.inf
    assert np.isnan(sc(bad, AXIS)) and "non-finite" in sc.explain(bad, AXIS)
    ring = scalarizers.get("annular_integral", inner=0.0, outer=100.0)
    assert np.isnan(ring(bad, AXIS)) and "non-finite" in ring.explain(bad, AXIS)
    assert ring.apply(np.stack([bad, disc(0, 0)]), AXIS)[1] == pytest.approx(disc(0, 0).sum())
    assert sc.explain(disc(1.0, 0.0), AXIS) is None


def test_annular_integral():
    ones = np.ones((K, K))
    sc = scalarizers.get("annular_integral", inner=2.0, outer=6.0)
    expected = np.pi * (6.0**2 - 2.0**2) / PX**2  # pixels in the annulus
    assert sc(ones, AXIS) == pytest.approx(expected, rel=0.03)
    everything = scalarizers.get("annular_integral", inner=0.0, outer=100.0)
    p = disc(0.3, -0.2, radius=4.0, intensity=3.0)
    assert everything(p, AXIS) == pytest.approx(p.sum())
    bright = scalarizers.get("annular_integral", inner=0.0, outer=5.0)(p, AXIS)
    dark = scalarizers.get("annular_integral", inner=5.0, outer=100.0)(p, AXIS)
    assert bright == pytest.approx(p.sum()) and dark == 0.0
    off = scalarizers.get("annular_integral", inner=0.0, outer=1.0, center=[5.0, 5.0])
    assert off(p, AXIS) == 0.0  # a centre off the disc sees nothing
    assert sc.apply(np.stack([ones, 2 * ones]), AXIS) == pytest.approx(
        [sc(ones, AXIS), 2 * sc(ones, AXIS)]
    )
