r"""Spatial DKL: a deep kernel on the structure plus a kernel on the position.

.. math:: f \sim \mathcal{GP}\Big(c,\; s_g^2\, k\big(g_\theta(x), g_\theta(x')\big)
          + s_r^2\, k\big(r / S, r' / S\big)
          + s_x^2\, k\big(g_\theta(x), g_\theta(x')\big)\, k\big(r / S, r' / S\big)\Big)

``g_theta`` is the DKL feature extractor on the patch ``x``; ``r`` is the candidate's
pixel position and ``S`` the extent of the candidate grid. The marginal likelihood
splits the property between what the structure explains (``s_g``) and what varies
smoothly in space whatever the structure (``s_r``), and the product term (``s_x``,
``interaction=True``, the default) what the structure sets but something hidden
modulates across the sample. Where the structure does not determine the property, the
position term carries the fit and the model behaves like a GP on coordinates instead
of extrapolating a wrong structure-property relation with confidence; where it does,
the deep kernel carries it. The fitted share :math:`s_g^2 / (s_g^2 + s_r^2 + s_x^2)`
is reported as ``structure_share``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from gpytorch.kernels import AdditiveKernel, ScaleKernel
from torch import nn

from autoscope.errors import InputDataError, ModelFittingError
from autoscope.models._checks import check_float, log_normal
from autoscope.models._gp import make_kernel
from autoscope.models._registry import register
from autoscope.models.baselines import _box
from autoscope.models.dkl import DKL

__all__ = ["SpatialDKL"]


class _WithPosition(nn.Module):
    """Embed ``x[..., :D]`` with ``extractor`` and append the scaled position ``x[..., D:]``."""

    def __init__(self, extractor: nn.Module, n_features: int, lo: np.ndarray, span: float):
        super().__init__()
        self.extractor, self.n_features = extractor, n_features
        self.register_buffer("lo", torch.as_tensor(lo, dtype=torch.float32))
        self.register_buffer("span", torch.as_tensor(float(span), dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.extractor(x[..., : self.n_features])
        lo, span = self.get_buffer("lo"), self.get_buffer("span")
        r = (x[..., self.n_features :] - lo) / span
        return torch.cat([z, r], dim=-1)


class SpatialDKL(DKL):
    r"""DKL whose kernel adds a Matern kernel on the candidate position.

    .. math:: k = s_g^2\, k_\nu(g_\theta(x), g_\theta(x')) + s_r^2\, k_\nu(r/S, r'/S)

    Inputs are each candidate's flattened features followed by its ``(row, col)``
    (``input_kind = "features+coords"``; the recommender builds them and sets
    :attr:`feature_shape` so the CNN sees patches). Everything else (extractor,
    warm start, robustness) is :class:`~autoscope.models.DKL`'s.

    Parameters
    ----------
    position_lengthscale : float
        Initial lengthscale of the position kernel, as a fraction of the grid extent.
    position_prior : (float, float), optional
        ``(loc, scale)`` of a log-normal prior on the outputscales :math:`s_r^2` and
        :math:`s_x^2` (standardised units). ``None`` (default): none, and the fit may
        switch the position terms off when the embedding alone interpolates the data.
    interaction : bool
        Add a third term :math:`s_x^2\, k_\nu(g_\theta(x), g_\theta(x'))\, k_\nu(r/S, r'/S)`
        (default): a property set by the structure *and* modulated over the sample by
        something the image does not show (e.g. wall mobility that varies across the film).
    embedding_dim, centre : int
        As for :class:`~autoscope.models.DKL`, with other defaults (4 and 4): chosen on
        held-out seeds of the benchmark samples (``benchmarks/HELDOUT.md``).
    **kwargs
        :class:`~autoscope.models.DKL` options.

    Examples
    --------
    >>> import numpy as np
    >>> from autoscope.models import SpatialDKL
    >>> rng = np.random.default_rng(0)
    >>> patches = rng.normal(size=(30, 8, 8)).astype("float32")
    >>> pos = rng.integers(0, 64, size=(30, 2)).astype("float32")
    >>> model = SpatialDKL(n_iter=30, seed=0)
    >>> model.feature_shape = (8, 8)
    >>> x = np.concatenate([patches.reshape(30, -1), pos], axis=1)
    >>> report = model.fit(x, pos[:, 0] / 64.0)
    >>> 0.0 <= model.structure_share <= 1.0
    True
    """

    name = "spatial_dkl"
    input_kind = "features+coords"

    def __init__(
        self,
        *,
        position_lengthscale: float = 0.1,
        position_prior: Sequence[float] | None = None,
        interaction: bool = True,
        embedding_dim: int = 4,
        centre: int = 4,
        **kwargs: Any,
    ):
        super().__init__(embedding_dim=embedding_dim, centre=centre, **kwargs)
        self._params["position_lengthscale"] = check_float(
            "position_lengthscale", position_lengthscale, 0.0, strict=True
        )
        if not isinstance(interaction, bool):
            raise InputDataError(f"interaction must be True or False, got {interaction!r}")
        self._params["interaction"] = interaction
        self._params["position_prior"] = log_normal("position_prior", position_prior)
        #: shape of one candidate's features (set by the recommender; flat if unset)
        self.feature_shape: tuple[int, ...] | None = None
        self._lo: np.ndarray | None = None
        self._span = 1.0

    def _prepare(self, x_all: np.ndarray) -> None:
        if x_all.ndim != 2 or x_all.shape[1] < 3:
            raise InputDataError(
                f"spatial_dkl expects (N, D + 2) features followed by (row, col), got {x_all.shape}"
            )
        self._lo, span = _box(x_all[:, -2:].astype(np.float64))
        self._span = float(span)
        super()._prepare(x_all)

    def _extractor_inputs(self, x_all: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
        n_feat = x_all.shape[1] - 2
        return x_all[:, :n_feat], self._shape(n_feat)

    def _extractor_of(self, feature_map: nn.Module) -> nn.Module:
        return feature_map.get_submodule("extractor")

    def _shape(self, n_feat: int) -> tuple[int, ...]:
        shape = tuple(self.feature_shape) if self.feature_shape is not None else (n_feat,)
        if int(np.prod(shape)) != n_feat:
            raise InputDataError(
                f"feature_shape {shape} does not match {n_feat} feature columns (+ row, col)"
            )
        return shape

    def _feature_map(self, in_shape: tuple[int, ...], flat_dim: int) -> tuple[nn.Module, int]:
        n_feat = flat_dim - 2
        extractor, d = self._extractor(self._shape(n_feat), n_feat)
        if self._lo is None:
            raise ModelFittingError("spatial_dkl: prepare() has not seen the candidates yet")
        return _WithPosition(extractor, n_feat, self._lo, self._span), d + 2

    def _kernel(self, dim: int) -> Any:
        p = self._params
        d = dim - 2

        def part(dims: tuple[int, ...], ls: float | None, prior=None) -> ScaleKernel:
            return make_kernel(
                p["kernel"],
                len(dims),
                ard=p["ard"],
                nu=p["nu"],
                lengthscale=ls,
                active_dims=dims,
                outputscale_prior=prior,
            )

        struct, pos, prior = tuple(range(d)), (d, d + 1), p["position_prior"]
        structure = part(struct, p["lengthscale"])
        position = part(pos, p["position_lengthscale"], prior)
        if not p["interaction"]:
            return structure + position
        both = (
            part(struct, p["lengthscale"], prior) * part(pos, p["position_lengthscale"]).base_kernel
        )
        return AdditiveKernel(structure, position, both)

    @property
    def structure_share(self) -> float:
        r"""Fitted :math:`s_g^2 / (s_g^2 + s_r^2 [+ s_x^2])`, the structure-only prior variance."""
        if self.module is None:
            return float("nan")
        scales = [_outputscale(k) for k in self.module.covar_module.kernels]
        return scales[0] / sum(scales)

    def embed(self, x: np.ndarray) -> np.ndarray:
        """Return the structural embedding ``g(x)`` (N, d), without the position."""
        return super().embed(x)[:, :-2]


def _outputscale(kernel: Any) -> float:
    """Return the outputscale of a ``ScaleKernel`` or of a product led by one."""
    k = kernel if isinstance(kernel, ScaleKernel) else kernel.kernels[0]
    return float(k.outputscale.detach())


register(SpatialDKL.name, SpatialDKL)
