"""Tests of RecordedSample: recorded arrays as a sample, npz files and the shipped PbTiO3 data."""

from __future__ import annotations

import json

import numpy as np
import pytest

from autoscope.errors import InputDataError
from autoscope.sim.recorded import BEPS_FILE, PFM_FILE, RecordedSample, data_path, despike


def make_arrays(h=6, w=7, n=5, c=None, seed=0):
    rng = np.random.default_rng(seed)
    image = rng.normal(size=(h, w) if c is None else (h, w, c))
    spectra = rng.normal(size=(h, w, n))
    axis = np.linspace(-1.0, 1.0, n)
    return image, spectra, axis


def real_file(name):
    return data_path(name)  # the copy shipped in autoscope/sim/data


def test_returns_the_recorded_arrays():
    image, spectra, axis = make_arrays(c=2)
    s = RecordedSample(
        image, spectra, axis, "eV", channels=("a", "b"), pixel_size=2.5, pixel_units="nm"
    )
    assert s.kind == "replay" and s.shape == (6, 7) and s.spectrum_shape == (5,)
    assert s.channels == ("a", "b") and s.axis_units == "eV" and s.pixel_size == 2.5
    np.testing.assert_array_equal(s.image, image)
    np.testing.assert_array_equal(s.spectrum(2, 3), spectra[2, 3])
    np.testing.assert_array_equal(s.measure(2, 3, np.random.default_rng(0)), spectra[2, 3])
    np.testing.assert_array_equal(s.spectra([1, 4], [0, 6]), spectra[[1, 4], [0, 6]])
    image[0, 0, 0] = 99.0  # the sample keeps its own copy
    assert s.image[0, 0, 0] != 99.0
    truth = s.truth({"name": "band_integral", "params": {"low": -1.0, "high": 1.0}})
    np.testing.assert_allclose(truth[2, 3], np.trapezoid(spectra[2, 3], axis))
    assert s.default_scalarizer == {"name": "band_integral", "params": {"low": -1.0, "high": 1.0}}
    json.dumps(s.describe())


def test_measure_adds_gaussian_noise_of_the_given_sigma():
    image, spectra, axis = make_arrays(n=400)
    s = RecordedSample(image, spectra, axis, noise=0.3)
    m1 = s.measure(1, 1, np.random.default_rng(5))
    np.testing.assert_array_equal(m1, s.measure(1, 1, np.random.default_rng(5)))
    assert np.std(m1 - spectra[1, 1]) == pytest.approx(0.3, rel=0.15)


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda i, s, a: (i[0], s, a), r"image must be \(H, W\)"),
        (
            lambda i, s, a: (i, s[:5], a),
            r"spectra grid \(5, 7\) does not match image grid \(6, 7\)",
        ),
        (lambda i, s, a: (i, s, a[:4]), "spectrum length 5 does not match axis length 4"),
        (lambda i, s, a: (i, s[..., 0], a), r"spectra must be \(H, W, L\)"),
        (lambda i, s, a: (i, s, None), "without an axis"),
        (lambda i, s, a: (i, None, a), "axis given without spectra"),
        (lambda i, s, a: (np.where(i > 1, np.nan, i), s, a), "non-finite"),
        (lambda i, s, a: (i, np.where(s > 1, np.inf, s), a), "infinite"),
        (lambda i, s, a: (i, s, np.stack([a, a])), "axis must be 1-D"),
        (lambda i, s, a: (i, s, a * np.nan), "axis must be 1-D, finite"),
        (lambda i, s, a: ("img", s, a), "image must be a numeric array"),
    ],
)
def test_shape_and_value_errors_name_the_mismatch(change, match):
    with pytest.raises(InputDataError, match=match):
        RecordedSample(*change(*make_arrays()))


def test_bad_options_raise():
    image, spectra, axis = make_arrays(c=3)
    with pytest.raises(InputDataError, match="3 channel"):
        RecordedSample(image, spectra, axis, channels=("a", "b"))
    with pytest.raises(InputDataError, match="noise"):
        RecordedSample(image, spectra, axis, noise=-1.0)
    with pytest.raises(InputDataError, match="pixel_size"):
        RecordedSample(image, spectra, axis, pixel_size=float("nan"))
    s = RecordedSample(image, spectra, axis)
    with pytest.raises(InputDataError, match="outside"):
        s.spectrum(6, 0)


def test_nan_spectra_are_missing_pixels():
    image, spectra, axis = make_arrays()
    spectra[1, 2, 3] = np.nan
    s = RecordedSample(image, spectra, axis)
    assert not s.valid[1, 2] and s.valid.sum() == 6 * 7 - 1
    assert np.isnan(s.spectrum(1, 2)[3])
    t = s.truth({"name": "band_integral", "params": {"low": -1.0, "high": 1.0}})
    assert np.isnan(t[1, 2]) and np.isfinite(np.delete(t.ravel(), 1 * 7 + 2)).all()


def test_diffraction_pattern_grid():
    rng = np.random.default_rng(1)
    s = RecordedSample(np.ones((4, 4)), rng.random((4, 4, 8, 8)), np.arange(8.0), "mrad")
    assert s.spectrum_shape == (8, 8)
    assert s.default_scalarizer["name"] == "com_magnitude"
    with pytest.raises(InputDataError, match="square"):
        RecordedSample(np.ones((4, 4)), rng.random((4, 4, 8, 6)), np.arange(6.0))


def test_npz_round_trip(tmp_path):
    image, spectra, axis = make_arrays(c=2)
    spectra[0, 0, 0] = np.nan
    s = RecordedSample(
        image,
        spectra,
        axis,
        "V",
        channels=("amp", "ph"),
        channel_units=("a.u.", "deg"),
        pixel_size=40.0,
        pixel_units="nm",
        noise=0.1,
        axis_name="DC bias",
    )
    path = tmp_path / "s.npz"
    s.save_npz(path)
    r = RecordedSample.from_npz(path)
    np.testing.assert_array_equal(r.image, s.image)
    np.testing.assert_array_equal(r.spectra(), s.spectra())
    np.testing.assert_array_equal(r.axis, s.axis)
    for k in ("channels", "channel_units", "axis_units", "axis_name", "pixel_size", "pixel_units"):
        assert getattr(r, k) == getattr(s, k), k
    assert r.noise == 0.1 and r.source == {"loader": "from_npz", "path": str(path)}
    assert RecordedSample.from_npz(path, noise=0.0).noise == 0.0


def test_npz_minimal_keys_and_missing_keys(tmp_path):
    image, spectra, axis = make_arrays()
    np.savez(tmp_path / "min.npz", image=image, spectra=spectra, axis=axis, axis_units="eV")
    s = RecordedSample.from_npz(tmp_path / "min.npz")
    assert s.axis_units == "eV" and s.channels == ("image",)
    np.savez(tmp_path / "noimage.npz", spectra=spectra, axis=axis)
    with pytest.raises(InputDataError, match="no 'image'"):
        RecordedSample.from_npz(tmp_path / "noimage.npz")
    np.savez(tmp_path / "noaxis.npz", image=image, spectra=spectra)
    with pytest.raises(InputDataError, match="both 'spectra' and 'axis'"):
        RecordedSample.from_npz(tmp_path / "noaxis.npz")
    with pytest.raises(FileNotFoundError):
        RecordedSample.from_npz(tmp_path / "absent.npz")


def test_image_only_sample_refuses_to_measure(tmp_path):
    s = RecordedSample(np.ones((5, 5, 3)))
    assert not s.has_spectra and s.spectrum_shape == () and s.default_scalarizer is None
    json.dumps(s.describe())
    for call in (lambda: s.measure(0, 0), lambda: s.spectrum(0, 0), lambda: s.truth("centroid")):
        with pytest.raises(InputDataError, match="image only"):
            call()
    s.save_npz(tmp_path / "img.npz")
    assert not RecordedSample.from_npz(tmp_path / "img.npz").has_spectra


def test_despike_removes_single_spikes_and_keeps_steps():
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(20), np.ones(20)] + 0.01 * rng.normal(size=40)
    clean = y.copy()
    y[7] += 5.0
    out, n = despike(y[None])
    assert n == 1
    np.testing.assert_allclose(out[0, 7], np.median(clean[6:9]), atol=0.02)
    np.testing.assert_array_equal(np.delete(out[0], 7), np.delete(y, 7))  # the step survives


def _write_fake_beps(path, h=4, w=5):
    import h5py

    v = 8.5 * np.r_[np.arange(0, 4), np.arange(4, -4, -1), np.arange(-4, 0)] / 4
    data = np.arange(h * w * v.size, dtype=float).reshape(h, w, v.size)
    with h5py.File(path, "w") as f:
        g = f.create_group("Channel_000/generic")
        g["generic"] = data
        g["Voltage"] = v
        g["X"] = np.arange(h) * 4e-8
        g["Y"] = np.arange(w) * 4e-8
    return data, v


def test_from_beps_follows_autoscope_data(tmp_path, monkeypatch):
    (tmp_path / "dtmicroscope").mkdir()
    data, v = _write_fake_beps(tmp_path / "dtmicroscope" / BEPS_FILE)
    monkeypatch.setenv("AUTOSCOPE_DATA", str(tmp_path))
    s = RecordedSample.from_beps()
    assert s.source["path"] == str(tmp_path / "dtmicroscope" / BEPS_FILE)
    np.testing.assert_array_equal(s.spectra().reshape(data.shape), data)
    np.testing.assert_array_equal(s.axis, v)
    assert s.pixel_size == pytest.approx(40.0) and s.pixel_units == "nm"
    np.testing.assert_allclose(s.image[..., 0], np.median(np.abs(data), axis=-1))
    with pytest.raises(FileNotFoundError, match="AUTOSCOPE_DATA"):
        data_path("no_such_file.h5")
    with pytest.raises(FileNotFoundError):
        RecordedSample.from_beps(tmp_path / "absent.h5")


def test_from_beps_real_grid():
    import h5py

    path = real_file(BEPS_FILE)
    s = RecordedSample.from_beps(path)
    assert s.shape == (50, 50) and s.spectrum_shape == (64,)
    assert s.image.shape == (50, 50, 2) and s.channels == ("amplitude", "phase")
    v = s.axis
    assert v[0] == 0.0 and v[16] == 8.5 and v[48] == -8.5 and v[-1] == pytest.approx(-8.5 / 16)
    assert (
        np.all(np.diff(v[:17]) > 0)
        and np.all(np.diff(v[16:49]) < 0)
        and np.all(np.diff(v[48:]) > 0)
    )
    with h5py.File(path, "r") as f:
        raw = f["Channel_000/generic/generic"][()]
    np.testing.assert_array_equal(s.spectrum(12, 34), raw[12, 34])
    assert set(np.unique(s.image[..., 1])) == {0.0, 180.0}
    assert s.pixel_size == pytest.approx(2000.0 / 49) and s.axis_units == "V"
    assert s.default_scalarizer == {"name": "loop_area", "params": {}}
    d = RecordedSample.from_beps(path, despike_threshold=10.0)
    assert 0 < d.source["n_despiked"] < 0.1 * raw.size


def test_from_pfm_real_image_only():
    s = RecordedSample.from_pfm(real_file(PFM_FILE))
    assert s.image.shape == (256, 256, 3) and s.channels == ("amplitude", "phase", "topography")
    assert s.channel_units == ("pm", "deg", "nm") and s.pixel_size == pytest.approx(1000 / 255)
    amp, phase, topo = np.moveaxis(s.image, -1, 0)
    assert 0 < amp.min() and amp.max() < 1000  # pm
    assert -91 < phase.min() and phase.max() < 271
    assert abs(topo.mean()) < 1e-6 and 0.5 < topo.std() < 20  # plane-levelled, nm
    with pytest.raises(InputDataError, match="image only"):
        s.measure(0, 0)


def test_the_old_names_are_the_same_objects():
    from autoscope.sim import recorded, replay

    assert replay.ReplaySample is recorded.RecordedSample
    for name in ("BEPS_FILE", "PFM_FILE", "data_path", "despike"):
        assert getattr(replay, name) is getattr(recorded, name)
