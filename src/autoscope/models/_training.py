"""Training loops: Adam on the exact marginal log-likelihood, with numerical guards.

One call runs ``n_iter`` Adam steps on ``-log p(y | X)`` (divided by ``n``), the
feature map and the GP hyperparameters together (or the GP alone). A non-finite
loss or parameter stops the loop with :class:`NonFiniteLoss`; gpytorch's
``NotPSDError`` passes through, so the caller can retry with more jitter.
"""

from __future__ import annotations

import math
import time
import warnings
from contextlib import contextmanager
from typing import Any

import gpytorch
import numpy as np
import torch
from linear_operator.utils.warnings import NumericalWarning

__all__ = [
    "JITTERS",
    "NonFiniteLoss",
    "adam_mll",
    "derive_seed",
    "fork_seed",
    "recorded_numerical_warnings",
    "torch_threads",
    "warm_up",
]

#: Cholesky jitter per attempt (float32, float64); ``None`` keeps gpytorch's default.
JITTERS: tuple[tuple[float, float] | None, ...] = (
    None,
    (1e-4, 1e-6),
    (1e-3, 1e-4),
    (1e-2, 1e-2),
)


class NonFiniteLoss(ArithmeticError):
    """The marginal log-likelihood or a parameter became NaN/inf during training."""


_warm = False


def warm_up() -> float:
    """Pay the one-time costs of the first training in this process now; return seconds.

    The first ``torch.optim.Adam`` of a process imports ``torch._dynamo`` (and sympy),
    about 1 s on one core, and the first exact marginal likelihood loads gpytorch's
    and linear_operator's lazy paths; without this call both land on the first
    decision. Runs two Adam steps of a 4-point exact GP on a throw-away module
    (nothing seeded, no model touched, the global random state untouched), once per
    process; safe to call from any thread (later calls return 0).

    Returns
    -------
    float
        Seconds spent (0.0 when the process was already warm).
    """
    global _warm
    if _warm:
        return 0.0
    t0 = time.perf_counter()
    x = torch.linspace(0.0, 1.0, 4).unsqueeze(-1)
    y = torch.sin(6.0 * x).squeeze(-1)
    likelihood = gpytorch.likelihoods.GaussianLikelihood()
    gp = _WarmGP(x, y, likelihood)
    gp.train()
    likelihood.train()
    mll = gpytorch.mlls.ExactMarginalLogLikelihood(likelihood, gp)
    opt = torch.optim.Adam(gp.parameters(), lr=0.01)
    for _ in range(2):
        opt.zero_grad()
        loss = -mll(gp(x), y)
        loss.backward()
        opt.step()
    _warm = True
    return time.perf_counter() - t0


class _WarmGP(gpytorch.models.ExactGP):
    def __init__(self, x: torch.Tensor, y: torch.Tensor, likelihood: Any):
        super().__init__(x, y, likelihood)
        self.mean_module = gpytorch.means.ConstantMean()
        self.covar_module = gpytorch.kernels.ScaleKernel(gpytorch.kernels.RBFKernel())

    def forward(self, x: torch.Tensor) -> Any:
        return gpytorch.distributions.MultivariateNormal(self.mean_module(x), self.covar_module(x))


@contextmanager
def recorded_numerical_warnings(sink: list[str]):
    """Collect gpytorch/linear_operator ``NumericalWarning`` messages into ``sink``.

    Added jitter is expected and reported in the fit report instead of warning.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", NumericalWarning)
        yield
    for w in caught:
        if issubclass(w.category, NumericalWarning):
            sink.append(str(w.message))
        else:  # re-emit anything else unchanged
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


@contextmanager
def fork_seed(seed: int, device: torch.device):
    """Seed torch inside the block and restore the global RNG state afterwards."""
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


@contextmanager
def torch_threads(n: int | None):
    """Run the block with torch's intra-op thread count set to ``n``, then restore it.

    ``None`` leaves the setting alone. Small GP/DKL problems run fastest on one
    thread; two threads spinning on two shared cores were measured 15x slower.
    """
    if n is None:
        yield
        return
    old = torch.get_num_threads()
    if old != n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if old != n:
            torch.set_num_threads(old)


def derive_seed(*keys: int) -> int:
    """Return a 63-bit seed derived from integer keys (stable across runs)."""
    return int(np.random.SeedSequence([abs(int(k)) for k in keys]).generate_state(2, np.uint64)[0])


def adam_mll(
    module: gpytorch.models.ExactGP,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    n_iter: int,
    lr: float,
    lr_gp: float,
    weight_decay: float = 0.0,
    train_feature_map: bool = True,
    jitter: tuple[float, float] | None = None,
    clip: float = 10.0,
) -> tuple[float, int]:
    """Maximise the exact marginal likelihood with Adam.

    Parameters
    ----------
    module : GPModule
        Exact GP whose training data are ``x`` (n x D) and ``y`` (n,).
    n_iter : int
        Adam steps.
    lr, lr_gp : float
        Learning rates of the feature map and of the GP hyperparameters.
    weight_decay : float
        L2 penalty on the feature map's weights.
    train_feature_map : bool
        Train the feature map too (DKL) or only the GP hyperparameters.
    jitter : (float, float), optional
        Cholesky jitter for float32 and float64.
    clip : float
        Gradient-norm clip.

    Returns
    -------
    loss : float
        Negative marginal log-likelihood per point after the last step (NaN if
        ``n_iter`` is 0).
    iterations : int

    Raises
    ------
    NonFiniteLoss
        The loss or a parameter became NaN/inf.
    """
    module.train()
    module.likelihood.train()
    groups = [{"params": module.hyper_parameters(), "lr": lr_gp, "weight_decay": 0.0}]
    fm_params = list(module.feature_map.parameters())
    for p in fm_params:
        p.requires_grad_(train_feature_map)
    if train_feature_map and fm_params:
        groups.append({"params": fm_params, "lr": lr, "weight_decay": weight_decay})
    opt = torch.optim.Adam(groups)
    mll = gpytorch.mlls.ExactMarginalLogLikelihood(module.likelihood, module)
    params = [p for g in groups for p in g["params"]]
    loss_value = math.nan
    ctx = (
        gpytorch.settings.cholesky_jitter(float_value=jitter[0], double_value=jitter[1])
        if jitter
        else _null()
    )
    it = 0
    try:
        with ctx:
            for it in range(1, n_iter + 1):
                opt.zero_grad(set_to_none=True)
                loss = -mll(module(x), y)
                loss_value = float(loss.detach())
                if not math.isfinite(loss_value):
                    raise NonFiniteLoss(f"loss is {loss_value} at iteration {it}")
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, clip)
                opt.step()
            if n_iter > 0:
                with torch.no_grad():
                    loss_value = float(-mll(module(x), y))
    finally:
        for p in fm_params:
            p.requires_grad_(True)
    if not math.isfinite(loss_value) and n_iter > 0:
        raise NonFiniteLoss(f"final loss is {loss_value}")
    if any(not torch.isfinite(p).all() for p in module.parameters()):
        raise NonFiniteLoss("a parameter became non-finite")
    module.eval()
    return loss_value, it


@contextmanager
def _null():
    yield
