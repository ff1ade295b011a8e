r"""VAE-latent Bayesian optimisation: a small VAE on all patches, then a GP in its latent space.

The VAE is trained once, unsupervised, on every candidate (the structural image is
known in advance); the GP then works on the encoder means, like the seed lecture's
"VAE BO" baseline:

.. math:: \mathcal L_{\mathrm{VAE}} = \tfrac{1}{D}\lVert x - \mathrm{dec}(z)\rVert^2
          + \tfrac{\beta}{D}\, \mathrm{KL}\big(q(z \mid x)\,\Vert\,\mathcal N(0, I)\big),
          \qquad \phi(x) = (\mu_q(x) - \min) / \mathrm{extent}

References
----------
D. P. Kingma, M. Welling, "Auto-encoding variational Bayes", ICLR 2014.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from autoscope.errors import ModelFittingError
from autoscope.models._base import GPSurrogate
from autoscope.models._checks import check_float, check_int
from autoscope.models._device import DKL_CUDA_MIN_CANDIDATES
from autoscope.models._registry import register
from autoscope.models._training import derive_seed, fork_seed

__all__ = ["VAE", "VAEGP", "train_vae"]


class VAE(nn.Module):
    """MLP variational auto-encoder ``D -> hidden -> (mu, log var) in R^k -> hidden -> D``."""

    def __init__(self, in_dim: int, latent_dim: int, hidden: int = 128):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU())
        self.mu = nn.Linear(hidden, latent_dim)
        self.logvar = nn.Linear(hidden, latent_dim)
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, in_dim)
        )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the posterior mean and log-variance, each (n, k)."""
        h = self.encoder(x)
        return self.mu(h), self.logvar(h).clamp(-10.0, 10.0)

    def loss(self, x: torch.Tensor, beta: float) -> torch.Tensor:
        """Return the negative ELBO per input dimension, averaged over the batch."""
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        rec = ((self.decoder(z) - x) ** 2).sum(-1)
        kl = 0.5 * (mu**2 + logvar.exp() - 1.0 - logvar).sum(-1)
        return (rec + beta * kl).mean() / x.shape[-1]


def train_vae(
    x: torch.Tensor,
    *,
    latent_dim: int,
    hidden: int,
    epochs: int,
    batch_size: int,
    lr: float,
    beta: float,
    seed: int,
) -> tuple[VAE, list[float]]:
    """Train a :class:`VAE` on ``x`` (N, D) with Adam; torch's global RNG is restored.

    Returns
    -------
    vae : VAE
        In eval mode.
    losses : list of float
        Mean loss per epoch.
    """
    with fork_seed(seed, x.device):
        vae = VAE(x.shape[1], latent_dim, hidden).to(device=x.device, dtype=x.dtype)
        opt = torch.optim.Adam(vae.parameters(), lr=lr)
        gen = torch.Generator(device="cpu").manual_seed(seed)
        losses = []
        for _ in range(epochs):
            order = torch.randperm(x.shape[0], generator=gen).to(x.device)
            total = 0.0
            for start in range(0, x.shape[0], batch_size):
                opt.zero_grad(set_to_none=True)
                loss = vae.loss(x[order[start : start + batch_size]], beta)
                loss.backward()
                opt.step()
                total += float(loss.detach()) * min(batch_size, x.shape[0] - start)
            losses.append(total / x.shape[0])
    vae.eval()
    return vae, losses


class VAEGP(GPSurrogate):
    r"""GP in the latent space of a VAE trained on all candidate patches.

    :math:`\phi(x) = (\mu_q(x) - \min)/\mathrm{extent}` — the encoder mean, scaled
    into ``[0, 1]^k`` over the candidates; ARD Matern-5/2 GP on top. The VAE is
    trained in :meth:`prepare` (on all candidates; on the first training set if
    the model was never prepared) and then fixed.

    Parameters
    ----------
    latent_dim : int
        ``k`` (default 2).
    hidden : int
        Width of the encoder/decoder hidden layer.
    epochs, batch_size, vae_lr, beta
        VAE training (Adam); ``beta`` weights the KL term.
    lengthscale : float
        Initial GP lengthscale (in the unit box).
    **kwargs
        GP options of :class:`~autoscope.models.GPSurrogate`.
    """

    name = "vae_gp"
    cuda_min_candidates = DKL_CUDA_MIN_CANDIDATES  # the VAE trains on every candidate

    def __init__(
        self,
        *,
        latent_dim: int = 2,
        hidden: int = 128,
        epochs: int = 30,
        batch_size: int = 128,
        vae_lr: float = 1e-3,
        beta: float = 1.0,
        lengthscale: float | None = 0.2,
        **kwargs: Any,
    ):
        super().__init__(lengthscale=lengthscale, **kwargs)
        self._params.update(
            {
                "latent_dim": check_int("latent_dim", latent_dim, 1, 16),
                "hidden": check_int("hidden", hidden, 1),
                "epochs": check_int("epochs", epochs, 1),
                "batch_size": check_int("batch_size", batch_size, 1),
                "vae_lr": check_float("vae_lr", vae_lr, 0.0, strict=True),
                "beta": check_float("beta", beta, 0.0),
            }
        )
        self.vae: VAE | None = None
        self.vae_losses: list[float] = []
        self._lo: np.ndarray | None = None
        self._span: float | None = None

    def _prepare(self, x_all: np.ndarray) -> None:
        p = self._params
        flat = self._tensor(x_all.reshape(x_all.shape[0], -1))
        self.vae, self.vae_losses = train_vae(
            flat,
            latent_dim=p["latent_dim"],
            hidden=p["hidden"],
            epochs=p["epochs"],
            batch_size=p["batch_size"],
            lr=p["vae_lr"],
            beta=p["beta"],
            seed=derive_seed(p["seed"], 7919),
        )
        self._lo, self._span = None, None
        z = self._latent(x_all)
        lo = z.min(axis=0)
        span = float((z.max(axis=0) - lo).max())
        self._lo, self._span = lo, span if span > 0 else 1.0

    def _latent(self, x: np.ndarray) -> np.ndarray:
        if self.vae is None:
            raise ModelFittingError("vae_gp: prepare() has not trained the auto-encoder yet")
        with torch.no_grad():
            mu, _ = self.vae.encode(self._tensor(x.reshape(x.shape[0], -1)))
        return mu.double().cpu().numpy()

    def _transform(self, x: np.ndarray) -> np.ndarray:
        if self._lo is None or self._span is None:
            raise ModelFittingError("vae_gp: prepare() has not seen the candidates yet")
        return (self._latent(x) - self._lo) / self._span

    def latent(self, x: np.ndarray) -> np.ndarray:
        """Return the (unscaled) VAE encoder means of ``x`` (N, ...), shape (N, k)."""
        return self._latent(np.asarray(x))


register(VAEGP.name, VAEGP)
