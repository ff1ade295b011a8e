r"""Several stored runs side by side: best-so-far curves, paths, coverage of the feature space.

Coverage is measured in the global feature space of the structural image (the
2-D PCA embedding of all patches, :mod:`autoscope.replay.feature_space`): the
embedding's bounding box is cut into ``bins x bins`` cells, and

.. math:: \mathrm{coverage}_t = \frac{|\{\text{cells holding a point measured by step } t\}|}
                                     {|\{\text{cells holding any candidate}\}|}

so 1 means every kind of patch was visited. Runs on the same image share one
embedding (and so one cell grid); runs on different images each get their own.

Examples
--------
>>> from autoscope.replay import compare  # doctest: +SKIP
>>> cmp = compare([trace_ei, trace_ucb], labels=["EI", "UCB"])  # doctest: +SKIP
>>> cmp.coverage  # doctest: +SKIP
array([0.31, 0.52])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from autoscope.errors import InputDataError
from autoscope.replay._common import best_so_far, check_trace, pca_embed, scalarize_all

if TYPE_CHECKING:
    from autoscope.trace import ExperimentTrace

__all__ = ["CompareResult", "compare", "coverage_curve", "run_label"]


@dataclass
class CompareResult:
    """Runs compared on one footing.

    Attributes
    ----------
    labels : list of str
        One per run.
    uids : list of str
    values : list of ndarray, each (n_i,)
        Measured scalars of each run (recomputed with a common scalarizer when asked).
    best_so_far : list of ndarray, each (n_i,)
        Running maximum of ``values``.
    paths : list of ndarray, each (n_i, 2), int
        Measured ``(row, col)`` in order.
    trajectories : list of ndarray, each (n_i, 2)
        The path in the run's feature-space embedding.
    embeddings : list of ndarray, each (N_i, 2)
        PCA embedding of every candidate of each run (shared arrays for runs on one image).
    coverage_curves : list of ndarray, each (n_i,)
        Coverage after each measurement (see the module docstring).
    coverage : ndarray, shape (n_runs,)
        Final coverage of each run.
    image : ndarray, shape (H, W) or (H, W, C)
        The first run's structural image (for drawing paths).
    bins : int
    scalarizer : dict or None
        The common scalarizer spec, if ``values`` were recomputed.
    """

    labels: list[str]
    uids: list[str]
    values: list[np.ndarray]
    best_so_far: list[np.ndarray]
    paths: list[np.ndarray]
    trajectories: list[np.ndarray]
    embeddings: list[np.ndarray]
    coverage_curves: list[np.ndarray]
    coverage: np.ndarray
    image: np.ndarray
    bins: int
    scalarizer: dict[str, Any] | None = None

    def table(self) -> list[dict[str, Any]]:
        """Return one row per run: label, uid, n, best value, step first reaching it, coverage."""
        rows = []
        for i, label in enumerate(self.labels):
            b = self.best_so_far[i]
            fin = np.isfinite(b)
            best = float(b[fin][-1]) if fin.any() else float("nan")
            first = int(np.flatnonzero(b == best)[0]) if fin.any() else -1
            rows.append({"label": label, "uid": self.uids[i], "n": int(len(b)), "best": best,
                         "best_step": first, "coverage": float(self.coverage[i])})  # fmt: skip
        return rows

    def figure(self) -> Any:
        """Draw best-so-far curves, paths and feature-space coverage; see :mod:`.figures`."""
        from autoscope.replay.figures import compare_figure

        return compare_figure(self)


def run_label(trace: ExperimentTrace) -> str:
    """Return a short label ``"policy | scalarizer | seed S"`` from a run's stored specs."""
    specs = trace.specs or {}
    parts = []
    for key in ("policy", "scalarizer"):
        spec = specs.get(key)
        if isinstance(spec, dict):
            params = ",".join(f"{k}={v}" for k, v in sorted((spec.get("params") or {}).items()))
            parts.append(f"{spec.get('name')}({params})" if params else str(spec.get("name")))
    if not specs.get("policy"):
        parts.insert(0, str(specs.get("plan", "run")))
    if specs.get("seed") is not None:
        parts.append(f"seed {specs['seed']}")
    return " | ".join(parts) if parts else str(trace.uid)[:8]


def coverage_curve(embedding: np.ndarray, measured_ids: Any, bins: int = 10) -> np.ndarray:
    """Fraction of occupied feature-space cells visited after each measurement, shape (n,).

    Parameters
    ----------
    embedding : ndarray, shape (N, 2)
        Every candidate's 2-D embedding.
    measured_ids : sequence of int, length n
        Candidate ids in measurement order.
    bins : int
        Cells per embedding axis.
    """
    emb = np.asarray(embedding, dtype=float)
    lo, hi = emb.min(axis=0), emb.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    cell = np.clip(((emb - lo) / span * bins).astype(int), 0, bins - 1)
    flat = cell[:, 0] * bins + cell[:, 1]
    n_occupied = np.unique(flat).size
    seen: set[int] = set()
    out = np.empty(len(measured_ids))
    for t, i in enumerate(measured_ids):
        seen.add(int(flat[int(i)]))
        out[t] = len(seen) / n_occupied
    return out


def compare(
    traces: Any,
    labels: list[str] | None = None,
    *,
    scalarizer: Any = None,
    bins: int = 10,
    normalize: str | None = "image",
) -> CompareResult:
    """Put several stored runs side by side.

    Parameters
    ----------
    traces : sequence of ExperimentTrace
        Runs to compare (different policies, scalarizers, seeds, plans).
    labels : list of str, optional
        One per run (default :func:`run_label`).
    scalarizer : str or dict, optional
        Recompute every run's values from its stored spectra with this scalarizer, so
        best-so-far curves of runs guided by different scalarizers are comparable.
    bins : int
        Cells per axis of the coverage grid (>= 1).
    normalize : {"image", "patch", None}
        Patch normalisation of the feature-space embedding.

    Returns
    -------
    CompareResult

    Raises
    ------
    InputDataError
        No runs, a non-trace, mismatched labels, bad ``bins``.
    """
    traces = list(traces) if not hasattr(traces, "measured_ids") else [traces]
    if not traces:
        raise InputDataError("compare needs at least one trace, got none")
    for tr in traces:
        check_trace(tr, spectra=scalarizer is not None)
    if labels is None:
        labels = [run_label(tr) for tr in traces]
    if len(labels) != len(traces):
        raise InputDataError(f"got {len(labels)} labels for {len(traces)} traces")
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise InputDataError(f"bins must be an int >= 1, got {bins!r}")
    cache: list[tuple[Any, np.ndarray]] = []
    spec, values, bsf, paths, trajs, embs, curves = None, [], [], [], [], [], []
    for tr in traces:
        if scalarizer is not None:
            spec, v = scalarize_all(tr, scalarizer)
        else:
            v = np.asarray(tr.values, dtype=float)
        emb = _embedding(tr, cache, normalize)
        ids = np.asarray(tr.measured_ids, dtype=np.int64)
        cand = np.asarray(tr.candidates)
        values.append(v)
        bsf.append(best_so_far(v))
        paths.append(cand[ids] if ids.size else np.empty((0, 2), dtype=np.int64))
        trajs.append(emb[ids] if ids.size else np.empty((0, 2)))
        embs.append(emb)
        curves.append(coverage_curve(emb, ids, bins))
    cov = np.asarray([c[-1] if c.size else 0.0 for c in curves])
    return CompareResult(
        labels=[str(x) for x in labels],
        uids=[str(tr.uid) for tr in traces],
        values=values,
        best_so_far=bsf,
        paths=paths,
        trajectories=trajs,
        embeddings=embs,
        coverage_curves=curves,
        coverage=cov,
        image=np.asarray(traces[0].image, dtype=float),
        bins=bins,
        scalarizer=spec,
    )


def _embedding(
    trace: ExperimentTrace, cache: list[tuple[Any, np.ndarray]], normalize: str | None
) -> np.ndarray:
    """PCA embedding of a run's patches, shared between runs with the same image and geometry."""
    key = (np.asarray(trace.image), int(trace.patch_size), int(trace.stride))
    for (img, p, s), emb in cache:
        if (
            p == key[1]
            and s == key[2]
            and img.shape == key[0].shape
            and np.array_equal(img, key[0])
        ):
            return emb
    emb, _ = pca_embed(np.asarray(trace.patches(normalize=normalize), dtype=float), 2)
    if emb.shape[1] < 2:
        emb = np.column_stack([emb, np.zeros(len(emb))])
    cache.append((key, emb))
    return emb
