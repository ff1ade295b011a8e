"""Small synthetic data sets for the model tests."""

from __future__ import annotations

import copy

import gpytorch
import numpy as np
import pytest
import torch


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


def _exact_gp(model, x_train, y_train, x_test):
    """gpytorch's own exact posterior with the model's frozen network and hyperparameters."""
    ref = copy.deepcopy(model.module)
    xt = model._tensor(model._transform(x_train))
    yt = model._tensor((y_train - model._y_loc) / model._y_scale)
    ref.set_train_data(xt, yt, strict=False)
    ref.eval()
    ref.likelihood.eval()
    with torch.no_grad(), gpytorch.settings.fast_pred_var(False):
        f = ref(model._tensor(model._transform(x_test)))
        mean = f.mean.double().numpy() * model._y_scale + model._y_loc
        var = f.variance.double().numpy() * model._y_scale**2
    return mean, var


@pytest.fixture
def exact_gp():
    """gpytorch's exact posterior with a model's frozen network and hyperparameters."""
    return _exact_gp
