"""Generic spectra: band integrals/maxima/centroids and peak fits against synthetic ground truth."""

from __future__ import annotations

import numpy as np
import pytest

from autoscope import scalarizers
from autoscope.scalarizers import fit_peak

AXIS = np.linspace(-2.0, 40.0, 211)  # EELS-like energy loss, eV; 0.2 eV channels
STEP = AXIS[1] - AXIS[0]


def gaussian(x, x0, fwhm, h):
    return h * np.exp(-4 * np.log(2) * (x - x0) ** 2 / fwhm**2)


def lorentzian(x, x0, fwhm, h):
    return h / (1 + 4 * (x - x0) ** 2 / fwhm**2)


PROFILES = {"gaussian": gaussian, "lorentzian": lorentzian}


def test_band_integral_centroid_max_exact():
    s = 2.0 + 0.5 * AXIS
    assert scalarizers.get("band_integral", low=4.0, high=10.0)(s, AXIS) == pytest.approx(
        2.0 * 6.0 + 0.25 * (100 - 16)
    )
    assert scalarizers.get("band_max", low=4.0, high=10.0)(s, AXIS) == pytest.approx(7.0)
    g = gaussian(AXIS, 15.0, 2.0, 5.0)
    assert scalarizers.get("centroid", low=10.0, high=20.0)(g, AXIS) == pytest.approx(15.0)
    assert np.isnan(scalarizers.get("centroid", low=10.0, high=20.0)(-g, AXIS))
    assert "no positive intensity" in scalarizers.get("centroid", low=10, high=20).explain(-g, AXIS)


@pytest.mark.parametrize("model", ["gaussian", "lorentzian"])
@pytest.mark.parametrize(
    ("x0", "fwhm", "h"), [(15.3, 2.5, 3.0), (22.07, 4.0, 0.2), (8.71, 1.2, 40)]
)
def test_peak_recovered_within_one_channel(model, x0, fwhm, h):
    rng = np.random.default_rng(7)
    s = PROFILES[model](AXIS, x0, fwhm, h) + 0.5 + 0.02 * AXIS  # linear background
    s = s + rng.normal(0.0, 0.01 * h, AXIS.size)
    params = {"low": x0 - 3 * fwhm, "high": x0 + 3 * fwhm, "model": model}
    pos = scalarizers.get("peak_position", **params)(s, AXIS)
    width = scalarizers.get("peak_width", **params)(s, AXIS)
    height = scalarizers.get("peak_height", **params)(s, AXIS)
    assert abs(pos - x0) < STEP
    assert abs(width - fwhm) < STEP
    assert height == pytest.approx(h, rel=0.05)
    assert scalarizers.get("peak_position", **params).explain(s, AXIS) is None


def test_noise_free_fit_is_exact_and_background_options():
    s = lorentzian(AXIS, 12.34, 3.0, 2.0)
    for bg in ("linear", "constant", "none"):
        fit = fit_peak(s, AXIS, 4.0, 20.0, model="lorentzian", background=bg)
        assert fit.method == "fit"
        assert fit.position == pytest.approx(12.34, abs=1e-3)
        assert fit.width == pytest.approx(3.0, rel=1e-2)


def test_fallback_when_the_fit_is_unusable():
    # a nearly flat dome is wider than any admissible peak: the width hits its bound,
    # so the non-parametric estimate (parabolic maximum, half-maximum width) is used
    dome = 1.0 - 0.001 * (AXIS - 10.0) ** 2
    fit = fit_peak(dome, AXIS, 9.0, 11.0, background="none")
    assert fit.method == "fallback"
    assert fit.position == pytest.approx(10.0, abs=1e-9)
    assert fit.height == pytest.approx(1.0)
    assert np.isnan(fit.width)
    assert fit.reason.startswith("fitted width on its bound; non-parametric estimate used")
    sc = scalarizers.get("peak_width", low=9.0, high=11.0, background="none")
    assert np.isnan(sc(dome, AXIS))
    assert "width is NaN" in sc.explain(dome, AXIS)


def test_no_peak_gives_nan_with_reason():
    ramp = 0.1 * AXIS
    sc = scalarizers.get("peak_position", low=5.0, high=10.0)
    assert np.isnan(sc(ramp, AXIS))
    assert sc.explain(ramp, AXIS) == "no peak above the background"
    edge = gaussian(AXIS, 4.9, 1.0, 1.0)  # maximum just outside the band
    assert np.isnan(sc(edge, AXIS))
    assert "band edge" in sc.explain(edge, AXIS)
    bad = gaussian(AXIS, 7.0, 1.0, 1.0)
    bad[AXIS.searchsorted(7.0)] = np.nan
    assert np.isnan(sc(bad, AXIS))
    assert "non-finite" in sc.explain(bad, AXIS)
    assert np.isnan(scalarizers.get("peak_height", low=5, high=10)(np.ones_like(AXIS), AXIS))


@pytest.mark.parametrize("method", ["max", "integral", "fit"])
def test_peak_ratio(method):
    s = gaussian(AXIS, 10.0, 2.0, 3.0) + gaussian(AXIS, 25.0, 2.0, 1.5)
    sc = scalarizers.get("peak_ratio", low1=5.0, high1=15.0, low2=20.0, high2=30.0, method=method)
    assert sc(s, AXIS) == pytest.approx(2.0, rel=1e-2)
    batch = np.stack([s, 2 * s, gaussian(AXIS, 10.0, 2.0, 3.0)])
    out = sc.apply(batch, AXIS)
    assert out[:2] == pytest.approx([2.0, 2.0], rel=1e-2)
    if method == "fit":  # no peak in band 2: the fitted height is undefined
        assert np.isnan(out[2])
        assert sc.explain(batch[2], AXIS).startswith("band 2: ")
    else:  # the band quantities still exist (a tiny Gaussian tail)
        assert out[2] > 1e6


def test_peak_ratio_zero_denominator_is_nan_with_reason():
    s = gaussian(AXIS, 10.0, 2.0, 3.0)
    sc = scalarizers.get("peak_ratio", low1=5.0, high1=15.0, low2=30.0, high2=35.0)
    assert np.isnan(sc(s * (AXIS < 20), AXIS))
    assert sc.explain(s * (AXIS < 20), AXIS) == "band 2 quantity is zero (division by zero)"
