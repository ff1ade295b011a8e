r"""A timed reference: an atomai ``dklGPR``-like model, rebuilt and retrained at every step.

atomai 0.8.1 does not import beside CPU torch (PyPI's torchvision is built for CUDA
torch), so this module builds the same model from gpytorch and times one decision at a
few training-set sizes. Its settings follow atomai's ``dklGPR`` defaults as used in the
seed lecture:

.. math:: z = \mathrm{scale}_{[-1,1]}\big(g_\theta(x)\big),\quad
          g_\theta:\ D \to 1000 \to 500 \to 50 \to 2\ \text{(ReLU MLP)},\quad
          f \sim \mathcal{GP}\big(c,\ \mathrm{KISS}_{50\times 50}[s^2 k_{\mathrm{RBF}}](z, z')\big)

(KISS-GP: :class:`gpytorch.kernels.GridInterpolationKernel`, a 50 × 50 grid), Gaussian
likelihood, Adam (lr 0.01) on the exact marginal likelihood over all parameters for
``epochs`` full-batch steps (atomai: ``training_cycles``, ~100–200 per step in
published loops), float64, a **new model every step** (atomai ignores new data on a
second ``fit``), then the posterior over every candidate and analytic EI.

References
----------
M. Ziatdinov et al., atomai, https://github.com/pycroscopy/atomai (``atomai.models.dklGPR``).
A. G. Wilson, H. Nickisch, "Kernel interpolation for scalable structured Gaussian
processes (KISS-GP)", ICML 2015.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from autoscope.bench.methods import initial_order, peak_rss_mb
from autoscope.bench.tasks import Task

__all__ = ["ATOMAI_SETTINGS", "atomai_like_probe"]

#: What the reference row reproduces (and the numbers measured earlier with atomai itself).
ATOMAI_SETTINGS: dict[str, Any] = {
    "feature_extractor": "MLP D-1000-500-50-2, ReLU, output scaled to [-1, 1]",
    "kernel": "KISS-GP: GridInterpolationKernel(ScaleKernel(RBF, ARD)), grid 50 x 50",
    "training": "Adam lr 0.01, full batch, exact marginal likelihood, all parameters",
    "epochs_per_step": 100,
    "rebuilt_every_step": True,
    "dtype": "float64",
    "measured_with_atomai_0.8.1": {
        "cpu_s_per_step": {"10": 1.9, "50": 4.7, "100": 8.5},
        "median_steps_to_top1pct": 10,
        "note": "one synthetic 64x64 task, 1,024 candidates, 2 cores",
    },
}


def _build(x, y, grid_size: int):
    import gpytorch
    import torch
    from gpytorch.utils.grid import ScaleToBounds

    class _Model(gpytorch.models.ExactGP):
        def __init__(self, x, y, likelihood):
            super().__init__(x, y, likelihood)
            d = x.shape[-1]
            self.feature_extractor = torch.nn.Sequential(
                torch.nn.Linear(d, 1000),
                torch.nn.ReLU(),
                torch.nn.Linear(1000, 500),
                torch.nn.ReLU(),
                torch.nn.Linear(500, 50),
                torch.nn.ReLU(),
                torch.nn.Linear(50, 2),
            )
            self.scale_to_bounds = ScaleToBounds(-1.0, 1.0)
            self.mean_module = gpytorch.means.ConstantMean()
            self.covar_module = gpytorch.kernels.GridInterpolationKernel(
                gpytorch.kernels.ScaleKernel(gpytorch.kernels.RBFKernel(ard_num_dims=2)),
                num_dims=2,
                grid_size=grid_size,
            )

        def forward(self, x):
            z = self.scale_to_bounds(self.feature_extractor(x))
            return gpytorch.distributions.MultivariateNormal(
                self.mean_module(z), self.covar_module(z)
            )

    likelihood = gpytorch.likelihoods.GaussianLikelihood()
    return _Model(x, y, likelihood).double(), likelihood.double()


def _one_step(x_all: np.ndarray, train: np.ndarray, y: np.ndarray, epochs: int, seed: int) -> int:
    """Build, train and query a fresh model; return the EI-chosen candidate index."""
    import warnings

    import gpytorch
    import torch
    from scipy.stats import norm

    with torch.random.fork_rng(), warnings.catch_warnings():
        # KISS-GP's interpolation builds a sparse tensor; torch notes its invariants go unchecked
        warnings.filterwarnings("ignore", "Sparse invariant checks", UserWarning)
        # fast_pred_var may round tiny negative variances up; the probe only times the model
        warnings.filterwarnings(
            "ignore", "Negative variance values", gpytorch.utils.warnings.NumericalWarning
        )
        torch.manual_seed(seed)
        xt = torch.as_tensor(x_all[train], dtype=torch.float64)
        ys = (y - y.mean()) / (y.std() or 1.0)
        yt = torch.as_tensor(ys, dtype=torch.float64)
        model, likelihood = _build(xt, yt, grid_size=50)
        model.train()
        likelihood.train()
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        mll = gpytorch.mlls.ExactMarginalLogLikelihood(likelihood, model)
        for _ in range(epochs):
            opt.zero_grad()
            loss = -mll(model(xt), yt)
            loss.backward()
            opt.step()
        model.eval()
        likelihood.eval()
        means, sds = [], []
        with torch.no_grad(), gpytorch.settings.fast_pred_var():
            xa = torch.as_tensor(x_all, dtype=torch.float64)
            for start in range(0, xa.shape[0], 1024):
                post = model(xa[start : start + 1024])
                means.append(post.mean.numpy())
                sds.append(np.sqrt(np.clip(post.variance.numpy(), 1e-12, None)))
    mu, sd = np.concatenate(means), np.concatenate(sds)
    u = (mu - ys.max()) / sd
    ei = sd * (u * norm.cdf(u) + norm.pdf(u))
    ei[train] = -np.inf
    return int(np.argmax(ei))


def atomai_like_probe(
    task: Task,
    seed: int = 0,
    *,
    sizes: tuple[int, ...] = (10, 50, 100),
    epochs: int = 100,
    threads: int = 1,
) -> list[dict[str, Any]]:
    """Time one decision of the atomai-like model at each training-set size.

    For each ``n`` in ``sizes``: measure the first ``n`` candidates of the seeded
    permutation, then build, train (``epochs``), predict every candidate and take the
    EI maximum, timed together.

    Parameters
    ----------
    task : Task
    seed : int
    sizes : tuple of int
        Training-set sizes ``n``.
    epochs : int
        Adam steps per decision.
    threads : int
        torch intra-op threads during the probe (restored afterwards).

    Returns
    -------
    list of dict
        ``{"n", "wall", "cpu", "rss_mb", "chosen"}`` per size (seconds, MiB).
    """
    import torch

    from autoscope.features import extract_patches

    patches, centres = extract_patches(task.image, patch_size=task.patch_size)
    if not np.array_equal(centres, task.candidates):
        raise ValueError("patch centres differ from the task's candidates")
    x_all = patches.reshape(patches.shape[0], -1).astype(np.float64)
    perm = initial_order(task.n_candidates, seed)
    rng = np.random.default_rng([int(seed), 1])
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    out = []
    try:
        for n in sizes:
            train = perm[:n]
            y = np.array([task.measure(int(c), rng) for c in train])
            t0, c0 = time.perf_counter(), time.process_time()
            chosen = _one_step(x_all, train, y, epochs, seed)
            out.append(
                {
                    "n": int(n),
                    "wall": time.perf_counter() - t0,
                    "cpu": time.process_time() - c0,
                    "rss_mb": peak_rss_mb(),
                    "chosen": chosen,
                }
            )
    finally:
        torch.set_num_threads(old)
    return out
