"""Tests of autoscope.features: candidate grid convention, patches, normalisation."""

from __future__ import annotations

import numpy as np
import pytest

from autoscope.errors import InputDataError
from autoscope.features import (
    candidate_grid,
    check_image,
    extract_patches,
    normalize_image,
    standardize_features,
)


def test_candidate_grid_convention_64_16():
    c = candidate_grid((64, 64), 16)
    assert c.shape == (49 * 49, 2)
    assert c.dtype == np.int64
    assert c[:, 0].min() == 8 and c[:, 0].max() == 56  # p//2 .. H - (p - p//2)
    assert c[0].tolist() == [8, 8] and c[1].tolist() == [8, 9]  # rows vary slowest


@pytest.mark.parametrize("p", [1, 2, 3, 7, 8])
def test_every_patch_fits_and_is_centred(p):
    h, w = 13, 10
    image = np.arange(h * w, dtype=float).reshape(h, w)
    patches, centres = extract_patches(image, p, normalize=None)
    assert patches.shape == (len(centres), p, p)
    assert len(centres) == (h - p + 1) * (w - p + 1)
    for (r, c), patch in zip(centres, patches, strict=True):
        np.testing.assert_array_equal(
            patch, image[r - p // 2 : r - p // 2 + p, c - p // 2 : c - p // 2 + p]
        )
        assert patch[p // 2, p // 2] == image[r, c]  # the centre pixel sits at (p//2, p//2)


def test_stride_subsamples_the_grid():
    full = candidate_grid((32, 40), 8)
    strided = candidate_grid((32, 40), 8, stride=3)
    assert set(map(tuple, strided)) <= set(map(tuple, full))
    assert np.unique(strided[:, 0]).tolist() == [4, 7, 10, 13, 16, 19, 22, 25, 28]
    assert np.diff(np.unique(strided[:, 1])).tolist() == [3] * (len(np.unique(strided[:, 1])) - 1)


def test_multichannel_patches_keep_channels_last():
    rng = np.random.default_rng(0)
    image = rng.normal(size=(20, 18, 3))
    patches, centres = extract_patches(image, 6, stride=2, normalize=None)
    assert patches.shape == (len(centres), 6, 6, 3)
    r, c = centres[5]
    np.testing.assert_allclose(patches[5], image[r - 3 : r + 3, c - 3 : c + 3], rtol=1e-6)


def test_normalize_image_per_channel():
    rng = np.random.default_rng(1)
    image = np.stack(
        [rng.normal(5, 2, (16, 16)), rng.normal(-1, 0.1, (16, 16)), np.ones((16, 16))], -1
    )
    out = normalize_image(image)
    np.testing.assert_allclose(out[..., :2].mean(axis=(0, 1)), 0, atol=1e-12)
    np.testing.assert_allclose(out[..., :2].std(axis=(0, 1)), 1, atol=1e-12)
    np.testing.assert_array_equal(out[..., 2], 0)  # a constant channel becomes 0, not NaN


def test_patch_normalisation_and_dtype():
    image = np.random.default_rng(2).uniform(0, 1000, (12, 12)).astype(np.uint16)
    patches, _ = extract_patches(image, 4, normalize="patch")
    assert patches.dtype == np.float32
    np.testing.assert_allclose(patches.mean(axis=(1, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(patches.std(axis=(1, 2)), 1, atol=1e-4)
    p64, _ = extract_patches(image, 4, dtype=np.float64)
    assert p64.dtype == np.float64


@pytest.mark.parametrize(
    "image, match",
    [
        (np.zeros(5), r"\(H, W\) or \(H, W, C\)"),
        (np.zeros((2, 3, 4, 5)), r"shape \(2, 3, 4, 5\)"),
        (np.array([[1.0, np.nan], [0.0, 0.0]]), r"NaN/inf value\(s\), first at \[0, 1\]"),
        (np.zeros((4, 4), dtype=complex), "real-valued"),
        (np.zeros((0, 4)), "empty"),
    ],
)
def test_bad_images(image, match):
    with pytest.raises(InputDataError, match=match):
        check_image(image)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"patch_size": 0}, "between 1 and min"),
        ({"patch_size": 11}, r"between 1 and min\(H, W\) = 10, got 11"),
        ({"patch_size": 4.0}, "patch_size must be an int"),
        ({"patch_size": 4, "stride": 0}, "stride must be >= 1"),
        ({"patch_size": 4, "normalize": "global"}, "normalize must be one of"),
    ],
)
def test_bad_patch_arguments(kwargs, match):
    with pytest.raises(InputDataError, match=match):
        extract_patches(np.zeros((10, 12)), **kwargs)


def test_standardize_features():
    rng = np.random.default_rng(3)
    x = rng.normal([1.0, 100.0, 0.0], [1.0, 10.0, 0.0], size=(50, 3))
    z = standardize_features(x)
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(0)[:2], 1, atol=1e-5)
    assert (z[:, 2] == 0).all()
    with pytest.raises(InputDataError, match=r"shape \(N, \.\.\.\)"):
        standardize_features(np.zeros(4))
    with pytest.raises(InputDataError, match="finite"):
        standardize_features(np.array([[np.nan, 1.0]]))
