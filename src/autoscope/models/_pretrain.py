r"""Unsupervised pre-training of a DKL feature extractor on every candidate.

The structural image is known before any spectrum is measured, so the extractor
can first learn to tell the candidates apart from the patches alone: an
auto-encoder whose encoder *is* the extractor ``g_theta`` (the same architecture,
``tanh`` bottleneck of the embedding width ``d``) and whose decoder is a small MLP,

.. math:: \min_{\theta, \psi}\ \frac{1}{N D} \sum_{i=1}^{N}
          \big\lVert x_i - \mathrm{dec}_\psi(g_\theta(x_i)) \big\rVert^2 .

The trained ``theta`` then initialises the extractor at every (re-)initialisation,
and the marginal likelihood fine-tunes it on the measured points (semi-supervised
DKL in the sense of pre-training, not of a joint loss). Few labels then start from an
embedding that keeps distinct structures apart instead of from random weights.
"""

from __future__ import annotations

import torch
from torch import nn

from autoscope.models._training import fork_seed

__all__ = ["pretrain_extractor"]


def pretrain_extractor(
    extractor: nn.Module,
    x: torch.Tensor,
    *,
    out_dim: int,
    epochs: int,
    batch_size: int = 128,
    lr: float = 3e-3,
    seed: int = 0,
) -> tuple[dict[str, torch.Tensor], list[float]]:
    """Train ``extractor`` as the encoder of an auto-encoder on ``x`` (N, D).

    Parameters
    ----------
    extractor : nn.Module
        Maps ``(n, D)`` to ``(n, out_dim)``; trained in place.
    x : Tensor, shape (N, D)
        Every candidate's flat (normalised) features.
    out_dim : int
        The extractor's output width.
    epochs, batch_size, lr
        Adam on the mean squared reconstruction error.
    seed : int
        Seed of the decoder's weights and of the batch order; torch's global RNG is
        restored afterwards.

    Returns
    -------
    state : dict
        The extractor's trained ``state_dict`` (detached copies, on the CPU).
    losses : list of float
        Mean reconstruction error per epoch.
    """
    n, dim = x.shape
    with fork_seed(seed, x.device):
        hidden = max(32, min(256, dim // 2))
        decoder = nn.Sequential(
            nn.Linear(out_dim, 64),
            nn.ReLU(),
            nn.Linear(64, hidden),
            nn.ReLU(),
            nn.Linear(hidden, dim),
        ).to(device=x.device, dtype=x.dtype)
        params = list(extractor.parameters()) + list(decoder.parameters())
        opt = torch.optim.Adam(params, lr=lr)
        gen = torch.Generator(device="cpu").manual_seed(seed)
        extractor.train()
        losses: list[float] = []
        for _ in range(epochs):
            order = torch.randperm(n, generator=gen).to(x.device)
            total = 0.0
            for start in range(0, n, batch_size):
                batch = x[order[start : start + batch_size]]
                opt.zero_grad(set_to_none=True)
                loss = ((decoder(extractor(batch)) - batch) ** 2).mean()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * batch.shape[0]
            losses.append(total / n)
    extractor.eval()
    state = {k: v.detach().cpu().clone() for k, v in extractor.state_dict().items()}
    return state, losses
