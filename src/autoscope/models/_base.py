r"""The surrogate-model base class: feature map + exact GP, fitted robustly, warm-started.

.. math:: y_i = f(x_i) + \varepsilon_i,\quad
          f \sim \mathcal{GP}\big(c,\; s^2 k(\phi(x), \phi(x'))\big),\quad
          \varepsilon_i \sim \mathcal N(0, \sigma^2),\ \sigma^2 \ge \sigma^2_{\min}

on standardised targets ``(y - mean(y)) / std(y)``. Subclasses choose the feature
map ``phi`` and whether it is trained (:class:`~autoscope.models.dkl.DKL`) or fixed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch

from autoscope.errors import InputDataError, ModelFittingError
from autoscope.models._background import Background, release
from autoscope.models._checks import check_shape, check_xy, surrogate_params
from autoscope.models._device import resolve_device
from autoscope.models._fitting import fit_step, fit_with_fallbacks
from autoscope.models._gp import CandidatePosterior, GPModule, make_kernel
from autoscope.models._sliced import Shadow
from autoscope.models._training import adam_mll, derive_seed, fork_seed, torch_threads
from autoscope.models._update import (
    CandidateCache,
    RefitSchedule,
    posterior_cache,
    standardisation,
)

__all__ = ["GPSurrogate"]


class GPSurrogate:
    r"""A feature map followed by an exact GP, with the model API the recommender uses.

    ``fit(X, y)`` trains, ``predict(X) -> (mean, var)``, ``posterior(X)`` (mean, var,
    cross-covariances, joint samples), ``embed(X)``, ``prepare(X_all)`` (unsupervised
    set-up on every candidate, called once by the recommender), ``spec``.

    Parameters
    ----------
    kernel : {"matern", "rbf"}
        ``k`` in the model: Matern(``nu``) or RBF, wrapped in a ``ScaleKernel``.
    nu : {0.5, 1.5, 2.5}
        Matern smoothness.
    ard : bool
        One lengthscale per embedding dimension.
    lengthscale : float, optional
        Initial lengthscale (in embedding units).
    noise_floor : float
        Lower bound ``sigma^2_min`` of the noise variance, in standardised units.
    noise_init : float
        Initial noise variance (standardised units; > ``noise_floor``).
    noise_prior : (float, float), optional
        ``(loc, scale)`` of a log-normal prior on the noise variance (standardised
        units), added to the marginal likelihood; BoTorch's default is ``(-4, 1)``.
        ``None`` (default): no prior, the fit may drive the noise to its floor.
    n_iter : int
        Adam steps at the first fit and at every re-initialisation.
    warm_iter : int
        Adam steps at the other fits (warm start from the previous weights).
    reinit_every : int
        Re-initialise all weights every ``reinit_every`` fits (0: never).
    refit_every : int
        The fast update path (:mod:`autoscope.models._update`): train at every
        ``refit_every``-th fit and in between only condition the GP on the new points,
        the feature map and hyperparameters frozen (1, default: train at every fit).
    refit_surprise : float or None
        With ``refit_every > 1``, train instead when a new point's standardised
        forecast error exceeds this (``None``, default: never).
    refit_growth : float
        With ``refit_every > 1``, train instead when the training set has grown by
        this factor since the last training.
    refit_slice : int
        0 (default): train at the fit where training is due. ``s > 0``: train a copy
        of the model (a fresh one for a re-initialisation) ``s`` Adam steps per fit
        and swap it in when its ``warm_iter`` (``n_iter``) steps are done, while the
        served model is only conditioned (``refit_every > 1``) or warm-fitted as
        usual (``refit_every = 1``: only re-initialisations go to the copy). No
        decision then pays a whole re-initialisation.
    refit_lag : int
        0 (default): retrains run where they are due (or sliced). ``k >= 1`` (needs
        ``refit_every >= 2``; excludes ``refit_slice``): a due retrain runs on a copy in
        the model's own trainer thread, beside the decisions, and replaces the served model
        at the ``k``-th fit after it started (``k * ceil(n_iter / warm_iter)`` for a
        re-initialisation), conditioned on the points that arrived meanwhile; that fit
        waits for it if it is not done (:mod:`autoscope.models._background`). No decision
        then trains; the swap is at a fixed fit, so replaying the data reproduces a run.
    lr_gp : float
        Adam learning rate of the GP hyperparameters.
    max_attempts : int
        Fit attempts (escalating jitter, restored or fresh weights, smaller steps).
    seed : int
        Seed of every initialisation (torch's global RNG is left as it was).
    dtype : {"float32", "float64"}
    device : {"auto", "cpu", "cuda"}
        ``"auto"``: decided in :meth:`prepare` (:mod:`autoscope.models._device`): CUDA
        when available for a model with a neural feature map and at least
        :attr:`cuda_min_candidates` candidates, else CPU.
    threads : int or None
        torch intra-op threads used during ``fit``/``predict`` (restored afterwards;
        ``None``: leave torch's setting alone).
    """

    name: ClassVar[str] = "gp"
    #: what the recommender passes as X: candidate "features" or pixel "coords"
    #: what the model reads (an ensemble takes its first member's)
    input_kind: str = "features"
    #: whether the optimiser trains the feature map (switched off for a head-only update)
    _train_feature_map: bool = False
    #: one candidate's feature shape, for models that reshape flat features (the recommender
    #: sets it on image candidates); ``None``: the features as given
    feature_shape: tuple[int, ...] | None = None
    #: candidates from which ``device="auto"`` runs this model on CUDA (``None``: never)
    cuda_min_candidates: ClassVar[int | None] = None

    def __init__(
        self,
        *,
        kernel: str = "matern",
        nu: float = 2.5,
        ard: bool = True,
        lengthscale: float | None = None,
        noise_floor: float = 1e-4,
        noise_init: float = 0.05,
        noise_prior: Sequence[float] | None = None,
        n_iter: int = 100,
        warm_iter: int = 20,
        reinit_every: int = 0,
        refit_every: int = 1,
        refit_surprise: float | None = None,
        refit_growth: float = 1.5,
        refit_slice: int = 0,
        refit_lag: int = 0,
        lr_gp: float = 0.1,
        max_attempts: int = 4,
        seed: int = 0,
        dtype: str = "float32",
        device: str = "auto",
        threads: int | None = 1,
    ):
        self._params: dict[str, Any] = surrogate_params(
            kernel=kernel,
            nu=nu,
            ard=ard,
            lengthscale=lengthscale,
            noise_floor=noise_floor,
            noise_init=noise_init,
            noise_prior=noise_prior,
            n_iter=n_iter,
            warm_iter=warm_iter,
            reinit_every=reinit_every,
            refit_every=refit_every,
            refit_surprise=refit_surprise,
            refit_growth=refit_growth,
            refit_slice=refit_slice,
            refit_lag=refit_lag,
            lr_gp=lr_gp,
            max_attempts=max_attempts,
            seed=seed,
            dtype=dtype,
            device=device,
            threads=threads,
        )
        self.dtype = torch.float64 if dtype == "float64" else torch.float32
        self.device = resolve_device(device, None, self.cuda_min_candidates)
        self.module: GPModule | None = None
        self.n_fits = 0
        self._y_loc, self._y_scale = 0.0, 1.0
        self._cache: dict[str, torch.Tensor] | None = None
        self._in_shape: tuple[int, ...] | None = None
        self.prepared = False
        self._schedule = RefitSchedule(
            self._params["refit_every"],
            self._params["refit_surprise"],
            self._params["refit_growth"],
        )
        self._candidates: CandidateCache | None = None
        self._version = 0  # bumped whenever the feature map or hyperparameters change
        self._train_xy: tuple[np.ndarray, np.ndarray] | None = None
        self._since_train, self._n_at_train, self._last_reinit = 0, 0, 0
        self._shadow: Shadow | None = None
        self._background: Background | None = None

    # -- spec ---------------------------------------------------------------------------------
    @property
    def params(self) -> dict[str, Any]:
        """All constructor parameters (JSON-serialisable)."""
        return dict(self._params)

    @property
    def spec(self) -> dict[str, Any]:
        """The JSON spec ``{"name", "params"}`` that rebuilds this model (unfitted)."""
        return {"name": self.name, "params": self.params}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(fits={self.n_fits}, {self._params})"

    # -- hooks for subclasses --------------------------------------------------------------------
    def prepare(self, x_all: np.ndarray) -> None:
        """Unsupervised set-up on every candidate's input (PCA, VAE, coordinate scaling).

        Called once by the recommender with all candidates; a model that was not
        prepared prepares itself on the training inputs of its first fit.

        Parameters
        ----------
        x_all : ndarray, shape (N, ...)
            Features (or coordinates, if ``input_kind == "coords"``) of all candidates.
        """
        x_all = np.asarray(x_all)
        if x_all.ndim < 2 or x_all.shape[0] == 0 or not np.isfinite(x_all).all():
            raise InputDataError(f"prepare expects finite x_all (N, ...), got {x_all.shape}")
        if self.module is None:  # "auto" decides on the number of candidates
            self.device = resolve_device(
                self._params["device"], x_all.shape[0], self.cuda_min_candidates
            )
        with torch_threads(self._params["threads"]):
            self._prepare(x_all)
        self.prepared = True

    def _prepare(self, x_all: np.ndarray) -> None:
        """Subclass hook of :meth:`prepare` (no-op here)."""

    def _transform(self, x: np.ndarray) -> np.ndarray:
        """Map raw inputs (n, ...) to the flat GP inputs (n, D) (identity here)."""
        return x.reshape(x.shape[0], -1)

    def _feature_map(self, in_shape: tuple[int, ...], flat_dim: int) -> tuple[torch.nn.Module, int]:
        """Return the feature map for raw inputs ``in_shape`` (flat ``flat_dim``) and its width."""
        return torch.nn.Identity(), flat_dim

    # -- public API ---------------------------------------------------------------------------
    def fit(self, x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        """Fit (or warm-start) the model on ``n`` observations.

        Parameters
        ----------
        x : ndarray, shape (n, ...)
            Training inputs (patches, flat features or coordinates).
        y : ndarray, shape (n,)
            Finite observations.

        Returns
        -------
        dict
            Fit report: ``loss`` (negative MLL per point), ``iterations``,
            ``reinit``, ``attempts``, ``failures``, ``jitter_warnings``,
            ``stale`` (previous weights kept), ``seconds``, ``update``
            (``"train"`` or ``"condition"``, the fast path) and ``trigger`` (why a
            fast-path model trained: ``"first"``, ``"schedule"``, ``"growth"``,
            ``"surprise"``, ``"reinit"``, ``"data"``, ``"failed"``; else ``None``).

        Raises
        ------
        InputDataError
            Bad shapes or non-finite values.
        ModelFittingError
            Every attempt failed and there is no previous model to fall back on.
        """
        t0 = time.perf_counter()
        x, y = self._check_xy(x, y)
        if not self.prepared:
            self.prepare(x)
        with torch_threads(self._params["threads"]):
            report = fit_step(self, x, y)
        report["seconds"] = time.perf_counter() - t0
        self.n_fits += 1
        return report

    def posterior(self, x: np.ndarray, batch_size: int = 4096) -> CandidatePosterior:
        """Return the posterior over inputs ``x`` (N, ...) in observation units."""
        with torch_threads(self._params["threads"]):
            return self._posterior(x, batch_size)

    def release(self) -> None:
        """Say that the decision taken on the last fit is done (``refit_lag``).

        A background retrain started by that fit then begins training (it also begins
        at the next fit, or a second after it was started); the recommender calls this
        once it has chosen. A no-op otherwise.
        """
        release(self)

    def _posterior(self, x: np.ndarray, batch_size: int) -> CandidatePosterior:
        """Return the posterior over ``x``; over the last array object, from the cache.

        The candidates' embeddings and ``V`` are computed once per training (in chunks
        of ``batch_size``) and extended by the fast path; a new array rebuilds them.
        """
        if self._cache is None:
            raise ModelFittingError(f"{type(self).__name__} is not fitted yet")
        cand = self._candidates
        if cand is None or not cand.matches(x, self._version):
            arr = np.asarray(x)
            self._check_shape(arr)
            xt = self._tensor(self._transform(arr))
            m = self._fitted_module()
            cand = CandidateCache.build(
                x, self._version, m.feature_map, m.covar_module, xt, self._cache, batch_size
            )
            self._candidates = cand
        noise = float(self._cache["noise"])
        return cand.posterior(
            self._fitted_module().covar_module,
            noise,
            self._y_loc,
            self._y_scale,
            self._params["threads"],
        )

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return posterior mean and variance of ``f`` at ``x`` (N, ...), each (N,)."""
        post = self.posterior(x)
        return post.mean, post.var

    def embed(self, x: np.ndarray) -> np.ndarray:
        """Return the embedding ``phi(x)`` (N, d) the kernel sees."""
        module = self._fitted_module()
        x = np.asarray(x)
        self._check_shape(x)
        with torch_threads(self._params["threads"]), torch.no_grad():
            z = module.feature_map(self._tensor(self._transform(x)))
        return z.double().cpu().numpy()

    # -- internals --------------------------------------------------------------------------
    def _fitted_module(self) -> GPModule:
        """Return the GP module, or raise if no fit has built one."""
        if self.module is None:
            raise ModelFittingError(f"{type(self).__name__} is not fitted yet")
        return self.module

    def _check_xy(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        return check_xy(type(self).__name__, x, y, self._in_shape)

    def _check_shape(self, x: np.ndarray) -> None:
        check_shape(type(self).__name__, x, self._in_shape)

    def _tensor(self, x: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(x), dtype=self.dtype, device=self.device)

    def _standardize(self, y: np.ndarray) -> torch.Tensor:
        self._y_loc, self._y_scale = standardisation(y)
        return self._tensor((y - self._y_loc) / self._y_scale)

    def _build(self, xt: torch.Tensor, yt: torch.Tensor, in_shape: tuple[int, ...], key: int):
        p = self._params
        with fork_seed(derive_seed(p["seed"], self.n_fits, key), self.device):
            fmap, dim = self._feature_map(in_shape, int(xt.shape[-1]))
            kernel = self._kernel(dim)
            module = GPModule(xt, yt, fmap, kernel, p["noise_floor"], p["noise_prior"])
            module.likelihood.noise = p["noise_init"]
        return module.to(device=self.device, dtype=self.dtype)

    def _kernel(self, dim: int):
        """Return the GP kernel over ``dim`` feature-map outputs (subclass hook)."""
        p = self._params
        return make_kernel(p["kernel"], dim, ard=p["ard"], nu=p["nu"], lengthscale=p["lengthscale"])

    def _needs_reinit(self, in_shape: tuple[int, ...]) -> bool:
        return self.module is None or self._in_shape != in_shape or self._reinit_due()

    def _reinit_due(self) -> bool:
        """Return whether a multiple of ``reinit_every`` fits passed since the last reinit."""
        every = self._params["reinit_every"]
        return every > 0 and self.n_fits // every > self._last_reinit // every

    def _train(self, module: GPModule, xt, yt, n_iter: int, lr_scale: float, jitter):
        """Run the optimiser; subclasses with a trained feature map override the rates."""
        p = self._params
        return adam_mll(
            module,
            xt,
            yt,
            n_iter=n_iter,
            lr=0.0,
            lr_gp=p["lr_gp"] * lr_scale,
            train_feature_map=False,
            jitter=jitter,
        )

    def _fit(self, xt: torch.Tensor, yt: torch.Tensor, in_shape: tuple[int, ...]) -> dict[str, Any]:
        """Train on standardised ``(xt, yt)``, retrying as :mod:`autoscope.models._fitting` does."""
        return fit_with_fallbacks(self, xt, yt, in_shape)

    def _condition(self, xt: torch.Tensor, yt: torch.Tensor) -> None:
        """Cache the Cholesky factor of the training covariance and ``alpha``."""
        self._cache = posterior_cache(self._fitted_module(), xt, yt)
        self._version += 1  # the cached candidate posterior is stale
