"""Small synthetic data sets for the model tests."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def patch_data():
    """200 random 8x8 patches; y is a smooth function of the patch centre and contrast."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 8, 8)).astype(np.float32)
    y = np.tanh(x[:, 3:5, 3:5].mean(axis=(1, 2)).astype(float) * 2) + 0.3 * x.std((1, 2))
    return x, y


@pytest.fixture(scope="module")
def image_data():
    """A smooth 24x24 image, its 8x8 patches and centres; y depends on the centre intensity."""
    from scipy.ndimage import gaussian_filter

    from autoscope.features import extract_patches

    rng = np.random.default_rng(1)
    image = gaussian_filter(rng.normal(size=(24, 24)), 1.5)
    patches, centres = extract_patches(image, 8)
    y = patches[:, 3:5, 3:5].mean(axis=(1, 2)).astype(float)
    return patches, centres, y
