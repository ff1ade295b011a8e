"""Physics, determinism and input checks of the simulated STEM-EELS sample."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from autoscope import scalarizers
from autoscope.errors import InputDataError
from autoscope.sim import make_sample
from autoscope.sim.stem import STEMSample

# the documented defaults, written out independently of the source
PX = 0.1  # nm per pixel
ES_M, ES_P, DE, L_E = 7.0, 7.5, 2.0, 0.3  # eV, eV, eV, nm
HS0, FLOOR, L_H, KAPPA = 1.2, 0.1, 0.25, 0.2
DOSE = 1000.0


@pytest.fixture(scope="module")
def sample():
    return STEMSample(shape=(64, 64), seed=3)


@pytest.fixture(scope="module")
def spectra(sample):
    return sample.spectra().reshape(64, 64, -1)


def band(axis, lo, hi):
    return (axis >= lo) & (axis <= hi)


def ratio_map(sample, spectra):
    p = sample.default_scalarizer["params"]
    m1, m2 = band(sample.axis, p["low1"], p["high1"]), band(sample.axis, p["low2"], p["high2"])
    return spectra[..., m1].max(-1) / spectra[..., m2].max(-1)


def test_axis_units_and_default_scalarizer(sample):
    assert sample.kind == "stem" and sample.axis_units == "eV" and sample.pixel_units == "nm"
    assert sample.axis.shape == (169,)
    assert sample.axis[0] == -2.0 and sample.axis[-1] == 40.0
    assert np.allclose(np.diff(sample.axis), 0.25)
    assert sample.spectrum_shape == (169,)
    assert sample.default_scalarizer == {
        "name": "peak_ratio",
        "params": {"low1": 3.0, "high1": 9.0, "low2": 12.0, "high2": 26.0},
    }


def test_edge_distance_is_distance_to_nearest_disc_edge(sample):
    parts = sample.particles
    assert len(parts) >= 1
    for i in range(len(parts)):  # non-overlapping
        for j in range(i):
            gap = np.hypot(*(parts[i, :2] - parts[j, :2])) - parts[i, 2] - parts[j, 2]
            assert gap >= 0.6 / PX - 1e-9
    rr, cc = np.mgrid[0:64, 0:64]
    s = np.min([np.hypot(rr - y, cc - x) - r for y, x, r in parts], axis=0)
    np.testing.assert_allclose(sample.edge_distance, np.abs(s) * PX)
    np.testing.assert_array_equal(sample.inside, s < 0)
    # columns inside particles are the heavy ones
    pos, kind = sample.columns["positions"], sample.columns["kind"]
    ins = np.min([np.hypot(*(pos - [y, x]).T) - r for y, x, r in parts], axis=0) < 0
    np.testing.assert_array_equal(kind == 3, ins)


def test_composition_is_one_in_particles_and_zero_in_clean_matrix(sample):
    c = sample.composition
    assert c.min() >= 0.0 and c.max() <= 1.0
    deep_in = sample.inside & (sample.edge_distance > 0.8)
    assert deep_in.any() and c[deep_in].min() > 0.95
    assert np.median(c[~sample.inside & (sample.edge_distance > 1.0)]) < 0.01


def test_peak_energy_follows_edge_distance_law(sample, spectra):
    d, c = sample.edge_distance, sample.composition
    law = ES_M + (ES_P - ES_M) * c - DE * np.exp(-d / L_E)
    np.testing.assert_allclose(sample.peak_energy_map, law)
    m = band(sample.axis, 3.0, 9.0)
    e = sample.axis[m]
    i = spectra[..., m].argmax(-1)
    argmax = e[i]
    assert np.abs(argmax - law).max() <= 0.25  # one channel
    # three-point parabolic refinement: well inside one channel
    y = spectra[..., m]
    ym, y0, yp = (np.take_along_axis(y, (i + k)[..., None], -1)[..., 0] for k in (-1, 0, 1))
    refined = argmax + 0.25 * 0.5 * (ym - yp) / (ym - 2 * y0 + yp)
    assert np.abs(refined - law).max() < 0.06
    # the law spans a range of several channels: edges red-shifted by up to ~2 eV
    assert law.max() - law.min() > 1.5


def test_peak_position_scalarizer_recovers_the_law(sample):
    if "peak_position" not in scalarizers.available():
        pytest.skip("peak_position scalarizer not registered yet")
    d = sample.edge_distance.ravel()
    rng = np.random.default_rng(1)
    idx = np.concatenate([np.argsort(d)[:100], rng.choice(d.size, 100, replace=False)])
    rr, cc = np.divmod(idx, 64)
    f = scalarizers.get("peak_position", low=3.0, high=9.0, model="lorentzian")
    pos = f.apply(sample.spectra(rr, cc), sample.axis)
    np.testing.assert_allclose(pos, sample.peak_energy_map[rr, cc], atol=0.05)


def test_peak_height_and_bulk_plasmon_at_dose(sample, spectra):
    d, c = sample.edge_distance, sample.composition
    hs = HS0 * (1 + KAPPA * c) * (FLOOR + (1 - FLOOR) * np.exp(-d / L_H))
    np.testing.assert_allclose(sample.peak_height_map, hs)
    # far from particles and from substitutions: bulk plasmon at 15 eV, height = dose
    far = (d > 1.5) & (c < 1e-3)
    r, col = np.argwhere(far)[0]
    s = spectra[r, col]
    i15 = np.argmin(np.abs(sample.axis - 15.0))
    assert s[i15] == pytest.approx(DOSE * (1.0 + 0.0), rel=0.02)
    assert sample.axis[np.argmax(np.where(sample.axis > 12, s, 0))] == pytest.approx(15.0, abs=0.5)
    # zero-loss peak dominates at E = 0
    assert s[np.argmin(np.abs(sample.axis))] == pytest.approx(20 * DOSE, rel=1e-3)


def test_peak_ratio_extreme_region_is_small_and_at_particle_edges(sample, spectra):
    ratio = ratio_map(sample, spectra)
    top = ratio >= np.quantile(ratio, 0.99)
    assert sample.edge_distance[top].max() < 0.15  # nm: top 1% sits on the edges
    assert ratio.max() / np.median(ratio) > 5.0  # non-trivial contrast
    high = ratio > 0.5 * (ratio.max() + np.median(ratio))
    assert 0.01 < high.mean() < 0.12  # a few per cent of the pixels
    assert sample.edge_distance[high].max() < 0.3
    # the peak-energy map is extreme (lowest) at the same places
    low = sample.peak_energy_map <= np.quantile(sample.peak_energy_map, 0.01)
    assert sample.edge_distance[low].max() < 0.15


def test_truth_of_default_scalarizer_matches_band_maxima(sample, spectra):
    if "peak_ratio" not in scalarizers.available():
        pytest.skip("peak_ratio scalarizer not registered yet")
    truth = sample.truth(sample.default_scalarizer)
    assert truth.shape == (64, 64)
    np.testing.assert_allclose(truth, ratio_map(sample, spectra), rtol=1e-9)


def test_haadf_brighter_on_heavy_columns():
    s = STEMSample(shape=(96, 96), seed=5)
    pos, kind = s.columns["positions"], s.columns["kind"]
    rc = np.rint(pos).astype(int)
    ok = (rc >= 0).all(1) & (rc < 96).all(1)
    val = s.image[rc[ok, 0], rc[ok, 1]]
    mean = {k: val[kind[ok] == k].mean() for k in range(4)}
    assert all((kind[ok] == k).sum() > 3 for k in range(4))
    assert mean[3] > mean[2] > mean[0] > mean[1]
    # peak heights scale as Z^1.7 (noise-free image; heavy columns are crowded)
    clean = s.image_clean[rc[ok, 0], rc[ok, 1]]
    host = np.median(clean[kind[ok] == 0])
    assert np.median(clean[kind[ok] == 3]) / host == pytest.approx((79 / 14) ** 1.7, rel=0.1)
    assert np.median(clean[kind[ok] == 2]) / host == pytest.approx((32 / 14) ** 1.7, rel=0.1)
    # image counts = dose 50 x noise-free image (host columns)
    host_clean = clean[kind[ok] == 0].mean()
    assert mean[0] == pytest.approx(50.0 * host_clean, rel=0.05)


def test_measure_is_poisson_at_the_dose(sample):
    rng = np.random.default_rng(11)
    clean = sample.spectrum(10, 20)
    m = np.stack([sample.measure(10, 20, rng) for _ in range(400)])
    assert np.array_equal(m, np.round(m)) and m.min() >= 0
    sel = clean > 50
    z = (m.mean(0)[sel] - clean[sel]) / np.sqrt(clean[sel] / 400)
    assert np.abs(z).max() < 5
    assert (m.var(0)[sel] / clean[sel]).mean() == pytest.approx(1.0, abs=0.05)
    double = STEMSample(shape=(64, 64), seed=3, dose=2 * DOSE)
    np.testing.assert_allclose(double.spectrum(10, 20), 2 * clean)


def test_determinism_and_seeds():
    a = STEMSample(shape=(40, 48), seed=7)
    b = make_sample("stem", shape=(40, 48), seed=7)
    assert isinstance(b, STEMSample) and a.image.shape == (40, 48)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.particles, b.particles)
    np.testing.assert_array_equal(a.spectra(), b.spectra())
    c = STEMSample(shape=(40, 48), seed=8)
    assert not np.array_equal(a.image, c.image)
    assert not np.array_equal(a.edge_distance, c.edge_distance)


def test_params_and_describe_are_json_and_rebuild(sample):
    p = sample.params()
    assert p["dose"] == DOSE and p["pixel_size"] == PX and p["n_particles"] is None
    d = json.loads(json.dumps(sample.describe()))
    assert d["kind"] == "stem" and d["spectrum_shape"] == [169] and d["params"] == p
    again = STEMSample(shape=(64, 64), seed=3, **p)
    np.testing.assert_array_equal(again.image, sample.image)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"shape": (4, 64)}, "shape"),
        ({"shape": (64,)}, "shape"),
        ({"shape": (64.5, 64)}, "shape"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"dose": float("nan")}, "'dose'"),
        ({"pixel_size": -0.1}, "'pixel_size'"),
        ({"vacancy_fraction": 1.5}, "'vacancy_fraction'"),
        ({"vacancy_fraction": 0.6, "substitution_fraction": 0.6}, "substitution_fraction"),
        ({"n_channels": 100.5}, "'n_channels'"),
        ({"surface_width": "1"}, "'surface_width'"),
        ({"z_particle": 10.0}, "'z_particle'"),
        ({"bulk_energy_matrix": 8.0}, "bulk-plasmon band"),
        ({"n_channels": 60}, "bulk-plasmon band"),
        ({"colour": 3}, "unknown parameter"),
    ],
)
def test_bad_input_raises(kwargs, match):
    kwargs = {"shape": (32, 32), **kwargs}
    with pytest.raises(InputDataError, match=match):
        STEMSample(**kwargs)


def test_bad_pixels_raise(sample):
    for r, c in ((64, 0), (0, -1), (2.5, 3)):
        with pytest.raises(InputDataError):
            sample.spectrum(r, c)
        with pytest.raises(InputDataError):
            sample.measure(r, c, np.random.default_rng(0))
    with pytest.raises(InputDataError):
        sample.spectra([0, 70], [0, 1])


def test_generation_and_truth_at_128_are_fast():
    t0 = time.perf_counter()
    s = STEMSample(shape=(128, 128), seed=0)
    t1 = time.perf_counter()
    spectra = s.spectra()
    t2 = time.perf_counter()
    assert spectra.shape == (128 * 128, 169)
    assert t1 - t0 < 5.0 and t2 - t1 < 5.0
    assert len(s.particles) == 3
    ratio = ratio_map(s, spectra.reshape(128, 128, -1))
    assert s.edge_distance[ratio >= np.quantile(ratio, 0.99)].max() < 0.15
