r"""Monitoring in a global feature space: every patch embedded once, the experiment drawn on it.

The structural image is known before the first spectrum, so the embedding of all
its patches is a *stationary* map on which any experiment's trajectory can be
drawn (the lecture's "global feature space"). Two unsupervised embeddings:

- ``"pca"``: :math:`z = (x - \bar x) V_2`, the first two principal directions of
  the flattened, image-standardised patches (numpy SVD);
- ``"vae"``: the encoder mean :math:`\mu_q(x)` of a small VAE trained on all
  patches (:func:`autoscope.models.vae.train_vae`, 2-D latent),

and, for comparison, the run's own DKL embedding :math:`g_\theta(x)` at the end
(trained on every measured point): unsupervised manifolds are shaped by the data
alone, the DKL one by the property as well.

Examples
--------
>>> from autoscope.replay import feature_space  # doctest: +SKIP
>>> fs = feature_space(trace, method="pca")  # doctest: +SKIP
>>> fs.embedding.shape, fs.trajectory.shape  # doctest: +SKIP
((2401, 2), (40, 2))
>>> fs.figure().savefig("feature_space.png")  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from autoscope.errors import InputDataError
from autoscope.replay._common import check_trace, pca_embed

if TYPE_CHECKING:
    from autoscope.recommender import DKLRecommender
    from autoscope.trace import ExperimentTrace

__all__ = ["FeatureSpaceResult", "embed_patches", "feature_space"]

_METHODS = ("pca", "vae")


@dataclass
class FeatureSpaceResult:
    """Patches of one run embedded in 2-D, with the run's trajectory over them.

    Attributes
    ----------
    uid : str
        Source run uid.
    method : {"pca", "vae"}
    embedding : ndarray, shape (N, 2)
        Every candidate patch's coordinates.
    info : dict
        ``"explained"`` (PCA: variance fraction per component) or ``"losses"`` (VAE:
        loss per epoch) and the settings used.
    measured_ids : ndarray, shape (n,), int
        Candidate ids in measurement order.
    trajectory : ndarray, shape (n, 2)
        ``embedding[measured_ids]``: the path through feature space.
    values : ndarray, shape (n,)
        Measured scalars (NaN where undefined), for colouring.
    phases : list of str
        ``"seed"`` / ``"dkl"`` / ... per measurement.
    dkl_embedding : ndarray, shape (N, d) or None
        The run's DKL feature extractor output for every candidate (model trained
        on all measured points); ``None`` when not asked for or not a DKL run.
    dkl_mean : ndarray, shape (N,) or None
        That model's predicted mean over the candidates.
    """

    uid: str
    method: str
    embedding: np.ndarray
    info: dict[str, Any]
    measured_ids: np.ndarray
    trajectory: np.ndarray
    values: np.ndarray
    phases: list[str] = field(default_factory=list)
    dkl_embedding: np.ndarray | None = None
    dkl_mean: np.ndarray | None = None

    @property
    def dkl_trajectory(self) -> np.ndarray | None:
        """``dkl_embedding[measured_ids]``, shape (n, d), or ``None``."""
        if self.dkl_embedding is None:
            return None
        return self.dkl_embedding[self.measured_ids]

    def figure(self) -> Any:
        """Draw the embedding and trajectory (and the DKL embedding); see :mod:`.figures`."""
        from autoscope.replay.figures import feature_space_figure

        return feature_space_figure(self)


def embed_patches(
    patches: np.ndarray,
    method: str = "pca",
    *,
    seed: int = 0,
    epochs: int = 40,
    hidden: int = 64,
    beta: float = 1.0,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Embed patches (N, p, p[, C]) in 2-D with PCA or a small VAE.

    Parameters
    ----------
    patches : ndarray, shape (N, ...)
        Candidate patches (any trailing shape; flattened).
    method : {"pca", "vae"}
    seed : int
        VAE initialisation and batch-order seed.
    epochs, hidden, beta
        VAE training epochs, hidden-layer width and KL weight.

    Returns
    -------
    embedding : ndarray, shape (N, 2)
    info : dict
        ``{"method", "explained"}`` or ``{"method", "losses", "epochs", "hidden", "beta", "seed"}``.

    Raises
    ------
    InputDataError
        Unknown method, or fewer than 2 patches.
    """
    if method not in _METHODS:
        raise InputDataError(f"method must be one of {_METHODS}, got {method!r}")
    flat = np.asarray(patches, dtype=float).reshape(len(patches), -1)
    if flat.shape[0] < 2 or not np.isfinite(flat).all():
        raise InputDataError(f"need >= 2 finite patches to embed, got shape {flat.shape}")
    if method == "pca":
        z, explained = pca_embed(flat, 2)
        if z.shape[1] < 2:
            z = np.column_stack([z, np.zeros((len(z), 2 - z.shape[1]))])
        return z, {"method": "pca", "explained": explained.tolist()}
    return _vae_embed(flat, seed=seed, epochs=epochs, hidden=hidden, beta=beta)


def _vae_embed(flat: np.ndarray, *, seed: int, epochs: int, hidden: int, beta: float):
    import torch

    from autoscope.models.vae import train_vae

    sd = flat.std(axis=0)
    x = (flat - flat.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    old = torch.get_num_threads()
    torch.set_num_threads(1)  # small MLP: one thread is fastest and leaves cores free
    try:
        xt = torch.as_tensor(x, dtype=torch.float32)
        vae, losses = train_vae(
            xt,
            latent_dim=2,
            hidden=int(hidden),
            epochs=int(epochs),
            batch_size=128,
            lr=2e-3,
            beta=float(beta),
            seed=int(seed),
        )
        with torch.no_grad():
            mu, _ = vae.encode(xt)
    finally:
        torch.set_num_threads(old)
    info = {"method": "vae", "losses": losses, "epochs": epochs, "hidden": hidden}
    info.update(beta=beta, seed=seed)
    return mu.double().numpy(), info


def feature_space(
    trace: ExperimentTrace,
    method: str = "vae",
    *,
    dkl: bool = True,
    recommender: DKLRecommender | None = None,
    normalize: str | None = "image",
    seed: int = 0,
    epochs: int = 40,
) -> FeatureSpaceResult:
    """Embed every patch of a stored run and draw its trajectory (and its DKL embedding).

    Parameters
    ----------
    trace : ExperimentTrace
        A stored run (:func:`autoscope.trace.load`).
    method : {"vae", "pca"}
        The unsupervised embedding (see the module docstring).
    dkl : bool
        Also compute the run's own DKL embedding at the end (``dkl_explore`` runs only;
        silently ``None`` for baselines).
    recommender : DKLRecommender, optional
        A recommender already trained on the run (e.g.
        :attr:`CounterfactualResult.recommender` of a replay with the run's own specs, the
        exact final model of the run); default: one trained once on every measured point.
    normalize : {"image", "patch", None}
        Patch normalisation (:func:`autoscope.features.extract_patches`).
    seed, epochs : int
        VAE seed and epochs.

    Returns
    -------
    FeatureSpaceResult

    Raises
    ------
    InputDataError
        Not a trace, unknown method.
    """
    check_trace(trace)
    if method not in _METHODS:
        raise InputDataError(f"method must be one of {_METHODS}, got {method!r}")
    patches = trace.patches(normalize=normalize)
    emb, info = embed_patches(patches, method, seed=seed, epochs=epochs)
    ids = np.asarray(trace.measured_ids, dtype=np.int64)
    dkl_emb = dkl_mean = None
    if dkl and (recommender is not None or (trace.specs or {}).get("recommender")):
        from autoscope.replay.retrace import final_recommender

        rec = recommender if recommender is not None else final_recommender(trace)
        if rec is not None:
            dkl_emb = np.asarray(rec.embed(), dtype=float)
            dkl_mean = np.asarray(rec.predict()[0], dtype=float)
    return FeatureSpaceResult(
        uid=str(trace.uid),
        method=method,
        embedding=emb,
        info=info,
        measured_ids=ids,
        trajectory=emb[ids] if ids.size else np.empty((0, 2)),
        values=np.asarray(trace.values, dtype=float),
        phases=[str(p) for p in getattr(trace, "phases", [])],
        dkl_embedding=dkl_emb,
        dkl_mean=dkl_mean,
    )
