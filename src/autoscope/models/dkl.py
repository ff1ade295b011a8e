r"""Deep kernel learning: a neural feature extractor trained jointly with an exact GP.

.. math:: f \sim \mathcal{GP}\big(c,\; s^2\, k_{\nu}(g_\theta(x), g_\theta(x'))\big),\qquad
          y = f(x) + \varepsilon,\ \varepsilon \sim \mathcal N(0, \sigma^2)

``g_theta`` maps a patch (``p x p [x C]``, a small CNN) or a flat feature vector (an
MLP) to a ``d``-dimensional embedding in ``[-1, 1]^d`` (``tanh`` output); ``k_nu`` is
Matern-5/2 (or RBF); ``theta``, ``c``, ``s``, the lengthscale and ``sigma`` maximise the
exact marginal likelihood :math:`\log p(y \mid X)` jointly (Adam).

References
----------
A. G. Wilson, Z. Hu, R. Salakhutdinov, E. P. Xing, "Deep kernel learning", AISTATS 2016.
K. M. Roccapriore, S. V. Kalinin, M. Ziatdinov, "Physics discovery in nanoplasmonic
systems via autonomous experiments in scanning transmission electron microscopy",
Adv. Sci. 9, 2203422 (2022).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from autoscope.errors import InputDataError
from autoscope.models._base import GPSurrogate
from autoscope.models._checks import check_float, check_int
from autoscope.models._device import DKL_CUDA_MIN_CANDIDATES
from autoscope.models._pretrain import pretrain_extractor
from autoscope.models._registry import register
from autoscope.models._training import adam_mll, derive_seed, fork_seed

__all__ = ["DKL", "PatchCNN", "FlatMLP"]

_EXTRACTORS = ("auto", "cnn", "mlp")


class _Flat(nn.Module):
    """Apply ``net`` to flat inputs with any leading batch dimensions."""

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.in_dim, self.out_dim = in_dim, out_dim

    def _net(self, x: torch.Tensor) -> torch.Tensor:
        """Map flat inputs ``(n, in_dim)`` to ``(n, out_dim)`` (the subclass's network)."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-1]
        return self._net(x.reshape(-1, self.in_dim)).reshape(*lead, self.out_dim)


class PatchCNN(_Flat):
    """Small CNN: two stride-2 3x3 convolutions, average pooling, two dense layers, tanh.

    Input ``(..., p*p*C)`` (a flattened channels-last patch), output ``(..., d)``. With
    ``centre = k > 0`` the central ``k x k`` pixels (all channels) also reach the dense
    layers unpooled: the spectrum is measured at the patch centre, and the strided
    convolutions alone see it only at a quarter of the resolution.
    """

    def __init__(self, p: int, c: int, d: int, channels=(8, 16), hidden: int = 32, centre: int = 0):
        super().__init__(p * p * c, d)
        self.p, self.c = p, c
        self.crop = slice(p // 2 - centre // 2, p // 2 - centre // 2 + centre)
        pool = max(1, min(4, math.ceil(p / 4)))
        self.conv = nn.Sequential(
            nn.Conv2d(c, channels[0], 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(channels[0], channels[1], 3, stride=2, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(pool),
            nn.Flatten(),
        )
        self.head = nn.Sequential(
            nn.Linear(channels[1] * pool * pool + centre * centre * c, hidden),
            nn.ReLU(),
            nn.Linear(hidden, d),
            nn.Tanh(),
        )

    def _net(self, x: torch.Tensor) -> torch.Tensor:
        img = x.reshape(-1, self.p, self.p, self.c).permute(0, 3, 1, 2)
        centre = img[:, :, self.crop, self.crop].flatten(1)
        return self.head(torch.cat([self.conv(img), centre], dim=1))


class FlatMLP(_Flat):
    """MLP ``D -> hidden layers -> d`` with ReLU and a tanh output; input ``(..., D)``."""

    def __init__(self, in_dim: int, d: int, hidden=(64, 32)):
        super().__init__(in_dim, d)
        layers: list[nn.Module] = []
        width = in_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers += [nn.Linear(width, d), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def _net(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class DKL(GPSurrogate):
    r"""Deep kernel learning model (feature extractor -> exact GP), warm-started.

    .. math:: f \sim \mathcal{GP}\big(c,\; s^2 k_{\nu}(g_\theta(x), g_\theta(x'))\big),
              \quad y = f + \varepsilon,\ \varepsilon \sim \mathcal N(0,\sigma^2),
              \ \sigma^2 \ge \sigma^2_{\min}

    ``g_theta``: :class:`PatchCNN` for inputs ``(n, p, p)`` / ``(n, p, p, C)``,
    :class:`FlatMLP` for ``(n, D)`` (or anything else, flattened); ``tanh`` output
    in ``[-1, 1]^d``. Targets are standardised; all parameters maximise the exact
    marginal likelihood with Adam.

    Warm-start schedule (fit number ``k = 0, 1, ...``): fresh weights and ``n_iter``
    Adam steps when ``k = 0`` or ``k % reinit_every == 0``; otherwise the previous
    weights and ``warm_iter`` steps.

    Parameters
    ----------
    embedding_dim : int
        ``d``, 1..8 (default 2).
    extractor : {"auto", "cnn", "mlp"}
        ``"auto"``: CNN for square patches, MLP otherwise.
    channels : (int, int)
        CNN convolution widths.
    hidden : (int, ...)
        Dense widths (the CNN uses the first one).
    lr : float
        Adam learning rate of the feature extractor.
    weight_decay : float
        L2 penalty on the extractor's weights.
    centre : int
        Side of the central crop that the CNN's dense layers also see at full
        resolution (0: none; clipped to the patch size).
    pretrain_epochs : int
        Epochs of unsupervised pre-training of the extractor, as the encoder of an
        auto-encoder on every candidate (:mod:`autoscope.models._pretrain`), in
        :meth:`prepare`; the result initialises the extractor at every
        (re-)initialisation. 0 (default): random initial weights.
    pretrain_lr : float
        Adam learning rate of the pre-training.
    **kwargs
        GP and schedule options of :class:`~autoscope.models.GPSurrogate`
        (``kernel``, ``noise_floor``, ``n_iter``, ``warm_iter``, ``reinit_every``,
        ``lr_gp``, ``seed``, ``dtype``, ``device``, ...).

    Examples
    --------
    >>> import numpy as np
    >>> from autoscope.models import DKL
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(20, 8, 8)).astype("float32")
    >>> y = x[:, 4, 4].astype(float)
    >>> model = DKL(n_iter=30, seed=0)
    >>> report = model.fit(x, y)
    >>> mean, var = model.predict(x)
    >>> mean.shape, bool((var > 0).all())
    ((20,), True)
    """

    name = "dkl"
    _train_feature_map = True
    cuda_min_candidates = DKL_CUDA_MIN_CANDIDATES

    def __init__(
        self,
        *,
        embedding_dim: int = 2,
        extractor: str = "auto",
        channels: tuple[int, int] | list[int] = (8, 16),
        hidden: tuple[int, ...] | list[int] = (64, 32),
        lr: float = 0.01,
        weight_decay: float = 1e-4,
        n_iter: int = 200,
        warm_iter: int = 30,
        reinit_every: int = 20,
        lr_gp: float = 0.05,
        ard: bool = False,
        lengthscale: float | None = 0.5,
        centre: int = 0,
        pretrain_epochs: int = 0,
        pretrain_lr: float = 3e-3,
        **kwargs: Any,
    ):
        super().__init__(
            n_iter=n_iter,
            warm_iter=warm_iter,
            reinit_every=reinit_every,
            lr_gp=lr_gp,
            ard=ard,
            lengthscale=lengthscale,
            **kwargs,
        )
        if extractor not in _EXTRACTORS:
            raise InputDataError(f"extractor must be one of {_EXTRACTORS}, got {extractor!r}")
        channels = [check_int("channels", c, 1) for c in _seq("channels", channels, 2)]
        hidden = [check_int("hidden", h, 1) for h in _seq("hidden", hidden, None)]
        self._params.update(
            {
                "embedding_dim": check_int("embedding_dim", embedding_dim, 1, 8),
                "extractor": extractor,
                "channels": channels,
                "hidden": hidden,
                "lr": check_float("lr", lr, 0.0, strict=True),
                "weight_decay": check_float("weight_decay", weight_decay, 0.0),
                "centre": check_int("centre", centre, 0, 64),
                "pretrain_epochs": check_int("pretrain_epochs", pretrain_epochs, 0, 10_000),
                "pretrain_lr": check_float("pretrain_lr", pretrain_lr, 0.0, strict=True),
            }
        )
        self._pretrained: dict[str, torch.Tensor] | None = None
        #: mean reconstruction error per pre-training epoch (empty without pre-training)
        self.pretrain_losses: list[float] = []

    def _prepare(self, x_all) -> None:
        if self._params["pretrain_epochs"] > 0:
            flat, shape = self._extractor_inputs(x_all)
            self._pretrain(flat, shape)

    def _extractor_inputs(self, x_all) -> tuple[Any, tuple[int, ...]]:
        """Return the extractor's flat inputs (N, D) in ``x_all`` and one input's shape."""
        return x_all.reshape(x_all.shape[0], -1), tuple(x_all.shape[1:])

    def _extractor_of(self, feature_map: nn.Module) -> nn.Module:
        """Return the trained extractor inside the model's feature map."""
        return feature_map

    def _pretrain(self, flat, shape: tuple[int, ...]) -> None:
        p = self._params
        seed = derive_seed(p["seed"], 104729)
        with fork_seed(seed, self.device):
            extractor, d = self._extractor(shape, int(flat.shape[1]))
        extractor = extractor.to(device=self.device, dtype=self.dtype)
        self._pretrained, self.pretrain_losses = pretrain_extractor(
            extractor,
            self._tensor(flat),
            out_dim=d,
            epochs=p["pretrain_epochs"],
            lr=p["pretrain_lr"],
            seed=seed,
        )

    def _build(self, xt, yt, in_shape, key):
        module = super()._build(xt, yt, in_shape, key)
        if self._pretrained is not None:
            self._extractor_of(module.feature_map).load_state_dict(self._pretrained)
        return module

    def _feature_map(self, in_shape: tuple[int, ...], flat_dim: int) -> tuple[nn.Module, int]:
        return self._extractor(in_shape, flat_dim)

    def _extractor(self, in_shape: tuple[int, ...], flat_dim: int) -> tuple[nn.Module, int]:
        """Return a fresh extractor (CNN or MLP) for inputs ``in_shape`` and its width."""
        p = self._params
        d = p["embedding_dim"]
        square = len(in_shape) in (2, 3) and in_shape[0] == in_shape[1]
        kind = p["extractor"] if p["extractor"] != "auto" else ("cnn" if square else "mlp")
        if kind == "cnn":
            if not square:
                raise InputDataError(
                    f"extractor='cnn' needs patches (n, p, p) or (n, p, p, C), got (n, {in_shape})"
                )
            c = in_shape[2] if len(in_shape) == 3 else 1
            hidden = p["hidden"][0] if p["hidden"] else 32
            centre = min(p["centre"], in_shape[0])
            return PatchCNN(in_shape[0], c, d, tuple(p["channels"]), hidden, centre), d
        return FlatMLP(flat_dim, d, tuple(p["hidden"])), d

    def _train(self, module, xt, yt, n_iter, lr_scale, jitter):
        p = self._params
        return adam_mll(
            module,
            xt,
            yt,
            n_iter=n_iter,
            lr=p["lr"] * lr_scale,
            lr_gp=p["lr_gp"] * lr_scale,
            weight_decay=p["weight_decay"],
            train_feature_map=self._train_feature_map,
            jitter=jitter,
        )


def _seq(name: str, value: Any, length: int | None) -> list[Any]:
    if not isinstance(value, list | tuple) or (length is not None and len(value) != length):
        want = f"a list of {length}" if length else "a list"
        raise InputDataError(f"{name} must be {want} ints, got {value!r}")
    return list(value)


register(DKL.name, DKL)
