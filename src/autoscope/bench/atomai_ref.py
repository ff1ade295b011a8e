r"""The reference row: atomai's own ``dklGPR``, rebuilt and trained at every decision.

:class:`AtomaiDKL` is a recommender over a task's candidates (``suggest`` / ``ingest`` /
``predict``, what :class:`~autoscope.recommender.ExplorationSession` drives), so the
benchmark runs it through the same loop, seeds and seed points as autoscope's own
methods (:func:`autoscope.bench.methods.run_method`, method kind ``"atomai"``). Each
decision does what the seed lecture's loop does with atomai 0.8.1:

.. code-block:: python

    model = atomai.models.dklGPR(D, embedim=2, precision="double", seed=s)
    model.fit(X[measured], y, training_cycles=200)      # a new model every step
    mean, var = model.predict(X, batch_size=N)         # every candidate
    next = argmax EI(mean, var; best = max y) over the unmeasured candidates

with ``X`` the task's patches flattened (the same patches, normalised over the image,
that autoscope's model gets) and ``y`` the measurements standardised (zero mean, unit
variance). atomai's defaults: MLP ``D-1000-500-50-2`` feature extractor, KISS-GP on a
50 × 50 grid, Adam at lr 0.01 on the exact marginal likelihood. atomai is imported
through :mod:`autoscope.bench._atomai_shim`. Constructing a ``dklGPR`` reseeds numpy
and torch and sets torch's default dtype to float64 process-wide: every decision here
restores both afterwards.

:func:`atomai_probe` times single decisions at chosen training-set sizes (the timing
row of ``autoscope bench`` and ``autoscope bench --perf``).

References
----------
M. Ziatdinov et al., atomai, https://github.com/pycroscopy/atomai (``atomai.models.dklGPR``).
"""

from __future__ import annotations

import contextlib
import io
import time
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from autoscope.bench._atomai_shim import import_atomai
from autoscope.errors import InputDataError, NoRecommendation

__all__ = ["ATOMAI_EPOCHS", "AtomaiDKL", "atomai_probe", "atomai_recommender"]

#: Adam steps per decision (``training_cycles``), as in published atomai DKL loops
ATOMAI_EPOCHS = 200


@contextlib.contextmanager
def _isolated(threads: int) -> Iterator[None]:
    """Restore numpy's and torch's global RNG, torch's default dtype and thread count."""
    import torch

    np_state = np.random.get_state()  # noqa: NPY002 - atomai reseeds the legacy global RNG
    dtype = torch.get_default_dtype()
    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.random.fork_rng(), warnings.catch_warnings():
            # atomai sets the default tensor type (deprecated API) and KISS-GP builds
            # sparse tensors; neither concerns the reference's numbers
            warnings.filterwarnings("ignore", message=r".*set_default_tensor_type.*")
            warnings.filterwarnings("ignore", message=r".*Sparse invariant checks.*")
            warnings.filterwarnings("ignore", message=r".*Negative variance values.*")
            yield
    finally:
        torch.set_default_dtype(dtype)
        torch.set_num_threads(old_threads)
        np.random.set_state(np_state)  # noqa: NPY002 - restored after atomai's reseeding


def _expected_improvement(mean: np.ndarray, var: np.ndarray, best: float) -> np.ndarray:
    from scipy.stats import norm

    sd = np.sqrt(np.clip(var, 1e-12, None))
    u = (mean - best) / sd
    return sd * (u * norm.cdf(u) + norm.pdf(u))


class AtomaiDKL:
    """atomai ``dklGPR`` + EI as a recommender over fixed candidates.

    Parameters
    ----------
    features : ndarray, shape (N, D)
        One feature vector per candidate (flattened patches).
    candidates : ndarray, shape (N, 2), int
        ``(row, col)`` of every candidate.
    seed : int
        Seeds every decision's ``dklGPR`` (``seed`` and the number measured).
    epochs : int
        ``training_cycles`` per decision.
    threads : int
        torch intra-op threads during a decision (restored afterwards).
    """

    def __init__(
        self,
        features: np.ndarray,
        candidates: np.ndarray,
        *,
        seed: int = 0,
        epochs: int = ATOMAI_EPOCHS,
        threads: int = 1,
    ):
        x = np.asarray(features, dtype=np.float64)
        cands = np.asarray(candidates)
        if x.ndim != 2 or cands.shape != (x.shape[0], 2):
            raise InputDataError(
                f"need features (N, D) and candidates (N, 2), got {x.shape} and {cands.shape}"
            )
        if not np.isfinite(x).all():
            raise InputDataError("features contain NaN or infinity")
        if epochs < 1 or threads < 1:
            raise InputDataError(f"need epochs >= 1 and threads >= 1, got {epochs}, {threads}")
        self._atomai = import_atomai()
        self._x = x
        self._candidates = cands
        self.seed = int(seed)
        self.epochs = int(epochs)
        self.threads = int(threads)
        self.measured_ids: list[int] = []
        self._values: list[float] = []
        self._model: Any = None
        self._posterior: tuple[np.ndarray, np.ndarray] | None = None
        self.last_decision: dict[str, Any] = {}

    @property
    def candidates(self) -> np.ndarray:
        """``(row, col)`` of every candidate, shape (N, 2)."""
        return self._candidates

    def ingest(self, points: Sequence[dict[str, Any]]) -> None:
        """Add measured points ``{"_id": int, "value": float}`` (any candidate, once each)."""
        n = self._x.shape[0]
        for p in points:
            cid, value = p.get("_id"), p.get("value")
            if not isinstance(cid, int | np.integer) or not 0 <= int(cid) < n:
                raise InputDataError(f"candidate id must be an int in [0, {n}), got {cid!r}")
            if int(cid) in self.measured_ids:
                raise InputDataError(f"candidate {int(cid)} was ingested already")
            if not isinstance(value, int | float | np.floating) or not np.isfinite(value):
                raise InputDataError(f"value of candidate {int(cid)} must be finite, got {value!r}")
            self.measured_ids.append(int(cid))
            self._values.append(float(value))
        self._posterior = None

    def _fit_predict(self) -> dict[str, float]:
        """Build and train a new dklGPR on everything measured; posterior over every candidate."""
        y = np.asarray(self._values)
        ys = (y - y.mean()) / (y.std() or 1.0)
        t = {}
        with _isolated(self.threads):
            t0 = time.perf_counter()
            model = self._atomai.models.dklGPR(
                self._x.shape[1],
                embedim=2,
                precision="double",
                seed=self.seed * 100_003 + len(y),
                device="cpu",
            )
            with contextlib.redirect_stdout(io.StringIO()):  # atomai prints the loss
                model.fit(self._x[self.measured_ids], ys, training_cycles=self.epochs)
            t["fit"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            mean, var = model.predict(self._x, batch_size=self._x.shape[0])
            t["predict"] = time.perf_counter() - t0
        self._model = model
        self._posterior = (np.asarray(mean, float).ravel(), np.asarray(var, float).ravel())
        self._best = float(ys.max())
        return t

    def suggest(self, batch_size: int = 1) -> list[dict[str, Any]]:
        """Return the ``batch_size`` unmeasured candidates of highest EI (a new model first)."""
        if len(self.measured_ids) < 2:
            raise InputDataError("the atomai reference needs >= 2 measured points to decide")
        free = np.setdiff1d(np.arange(self._x.shape[0]), self.measured_ids)
        if free.size == 0:
            raise NoRecommendation("every candidate is measured")
        t0 = time.perf_counter()
        timings = self._fit_predict()
        mean, var = self._posterior or (np.zeros(0), np.zeros(0))
        t1 = time.perf_counter()
        ei = _expected_improvement(mean, var, self._best)[free]
        order = free[np.argsort(-ei, kind="stable")[: max(1, int(batch_size))]]
        timings["acquire"] = time.perf_counter() - t1
        timings["total"] = time.perf_counter() - t0
        self.last_decision = {"phase": "model", "timings": timings}
        return [{"_id": int(i)} for i in order]

    def predict(self) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance over every candidate, in the measurements' units."""
        if self._posterior is None:
            self._fit_predict()
        mean, var = self._posterior or (np.zeros(0), np.zeros(0))
        y = np.asarray(self._values)
        s = y.std() or 1.0
        return mean * s + y.mean(), var * s * s


def atomai_recommender(task: Any, seed: int, **options: Any) -> AtomaiDKL:
    """Build :class:`AtomaiDKL` on a benchmark task's patches (the ones autoscope's model gets)."""
    from autoscope.features import extract_patches

    patches, centres = extract_patches(task.image, task.patch_size, task.stride)
    if not np.array_equal(centres, task.candidates):
        raise InputDataError("patch centres differ from the task's candidates")
    return AtomaiDKL(patches.reshape(patches.shape[0], -1), centres, seed=seed, **options)


def atomai_probe(
    task: Any,
    seed: int = 0,
    *,
    sizes: Sequence[int] = (10, 50, 100),
    epochs: int = ATOMAI_EPOCHS,
) -> list[dict[str, Any]]:
    """Time one atomai decision at each training-set size.

    For each ``n`` in ``sizes``: the first ``n`` candidates of the seeded permutation
    (the benchmark's seed points and their continuation) are measured, then one
    decision (build + fit + predict every candidate + EI) is timed.

    Returns
    -------
    list of dict
        ``{"n", "wall", "cpu", "rss_mb", "chosen"}`` per size (seconds, MiB).
    """
    from autoscope.bench.methods import initial_order, peak_rss_mb

    perm = initial_order(task.n_candidates, seed)
    rng = np.random.default_rng([int(seed), 1])
    out = []
    for n in sizes:
        if not 2 <= n < task.n_candidates:
            raise InputDataError(f"probe sizes must be in [2, {task.n_candidates}), got {n}")
        rec = atomai_recommender(task, seed, epochs=epochs)
        rec.ingest([{"_id": int(c), "value": task.measure(int(c), rng)} for c in perm[:n]])
        t0, c0 = time.perf_counter(), time.process_time()
        chosen = rec.suggest(1)[0]["_id"]
        out.append(
            {
                "n": int(n),
                "wall": time.perf_counter() - t0,
                "cpu": time.process_time() - c0,
                "rss_mb": peak_rss_mb(),
                "chosen": int(chosen),
            }
        )
    return out
