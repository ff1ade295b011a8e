"""Shared helpers of :mod:`autoscope.replay`: trace checks, specs, the rebuilt recommender, PCA.

Everything here reads an :class:`~autoscope.trace.ExperimentTrace` (or any object
with the same attributes) and never touches an instrument.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from autoscope.errors import InputDataError

if TYPE_CHECKING:
    from autoscope.recommender import DKLRecommender
    from autoscope.trace import ExperimentTrace

__all__ = [
    "best_so_far",
    "build_recommender",
    "candidate_map",
    "check_trace",
    "decision_records",
    "normalize_spec",
    "pca_embed",
    "recommender_config",
    "scalarize_all",
]

_TRACE_ATTRS = ("uid", "image", "candidates", "measured_ids", "values", "decisions", "specs")


def check_trace(trace: Any, *, spectra: bool = False) -> None:
    """Raise :class:`InputDataError` unless ``trace`` looks like an ExperimentTrace.

    Parameters
    ----------
    trace : ExperimentTrace
    spectra : bool
        Also require one stored spectrum per measurement and a spectral axis.
    """
    missing = [a for a in _TRACE_ATTRS if not hasattr(trace, a)]
    if missing:
        raise InputDataError(
            f"expected an ExperimentTrace (autoscope.trace.load), got {type(trace).__name__} "
            f"without {missing}"
        )
    n = len(trace.measured_ids)
    if np.asarray(trace.values).shape != (n,):
        raise InputDataError(
            f"trace has {n} measured ids but values of shape {np.asarray(trace.values).shape}"
        )
    if spectra:
        spec = np.asarray(trace.spectra)
        if spec.shape[:1] != (n,):
            raise InputDataError(f"trace has {n} measured ids but spectra of shape {spec.shape}")


def normalize_spec(kind: str, spec: Any) -> dict[str, Any]:
    """Return ``{"name", "params"}`` for a name or a spec dict (not validated further)."""
    if isinstance(spec, str) and spec:
        return {"name": spec, "params": {}}
    if isinstance(spec, Mapping) and isinstance(spec.get("name"), str):
        params = spec.get("params") or {}
        if not isinstance(params, Mapping):
            raise InputDataError(f"{kind} spec 'params' must be a dict, got {params!r}")
        return {"name": spec["name"], "params": dict(params)}
    raise InputDataError(
        f"a {kind} is a name or a {{'name': str, 'params': dict}} spec, got {spec!r}"
    )


def recommender_config(trace: ExperimentTrace) -> dict[str, Any]:
    """Return the JSON configuration the run built its recommender with (a deep copy).

    Raises
    ------
    InputDataError
        The run has no ``recommender`` configuration (not a ``dkl_explore`` run).
    """
    config = (trace.specs or {}).get("recommender")
    if not isinstance(config, Mapping):
        plan = (trace.specs or {}).get("plan", "?")
        raise InputDataError(
            f"run {trace.uid} (plan {plan!r}) stored no recommender configuration in "
            "start['autoscope']['recommender']; only dkl_explore runs can be replayed"
        )
    return copy.deepcopy(dict(config))


def build_recommender(trace: ExperimentTrace, config: Mapping[str, Any]) -> DKLRecommender:
    """Rebuild the recommender exactly as the plan did: ``DKLRecommender(image, **config)``."""
    from autoscope.recommender import DKLRecommender

    config = dict(config)
    # a run that stored no calibration predates the key, when the default was "none"
    config.setdefault("calibration", "none")
    rec = DKLRecommender(np.asarray(trace.image, dtype=float), **config)
    if not np.array_equal(np.asarray(rec.candidates), np.asarray(trace.candidates)):
        raise InputDataError(
            "the rebuilt recommender's candidates differ from the stored ones "
            f"({np.asarray(rec.candidates).shape} vs {np.asarray(trace.candidates).shape})"
        )
    return rec


def decision_records(trace: ExperimentTrace) -> list[dict[str, Any]]:
    """Return the run's model decisions in order (the final ``chosen_id == -1`` one excluded)."""
    return [d for d in trace.decisions if int(d.get("chosen_id", -1)) >= 0]


def scalarize_all(trace: ExperimentTrace, scalarizer: Any) -> tuple[dict[str, Any], np.ndarray]:
    """Apply a scalarizer to every stored spectrum.

    Returns
    -------
    spec : dict
        The scalarizer's JSON spec.
    values : ndarray, shape (n,)
        One scalar per measurement, NaN where the scalarizer failed or was not finite
        (as the plan records them).
    """
    from autoscope import scalarizers

    sc = scalarizers.from_spec(scalarizer)
    spectra = np.asarray(trace.spectra, dtype=float)
    axis = np.asarray(trace.axis, dtype=float)
    sc.validate(axis, spectra.shape[1:])
    out = np.full(spectra.shape[0], np.nan)
    for i, s in enumerate(spectra):
        try:
            v = float(sc(s, axis))
        except Exception:  # noqa: BLE001 - the plan records a failing scalarizer as NaN too
            continue
        out[i] = v if np.isfinite(v) else np.nan
    return dict(sc.spec), out


def best_so_far(values: Any) -> np.ndarray:
    """Return the running maximum of ``values`` (n,), ignoring NaN (NaN before any finite one)."""
    v = np.asarray(values, dtype=float)
    filled = np.where(np.isfinite(v), v, -np.inf)
    out = np.maximum.accumulate(filled) if v.size else v.copy()
    return np.where(np.isneginf(out), np.nan, out)


def pca_embed(x: np.ndarray, k: int = 2) -> tuple[np.ndarray, np.ndarray]:
    r"""Project ``x`` (N, D) onto its first ``k`` principal components (numpy SVD).

    :math:`Z = (X - \bar X) V_k`, with :math:`V_k` the leading right singular vectors,
    each signed so that its largest-magnitude entry is positive (deterministic).

    Returns
    -------
    z : ndarray, shape (N, k)
    explained : ndarray, shape (k,)
        Fraction of the total variance along each component.
    """
    flat = np.asarray(x, dtype=float).reshape(len(x), -1)
    a = flat - flat.mean(axis=0)
    k = int(min(k, *a.shape))
    _, s, vt = np.linalg.svd(a, full_matrices=False)
    comps = vt[:k]
    signs = np.sign(comps[np.arange(k), np.abs(comps).argmax(axis=1)])
    comps = comps * np.where(signs == 0, 1.0, signs)[:, None]
    total = float((s**2).sum())
    explained = s[:k] ** 2 / total if total > 0 else np.zeros(k)
    return a @ comps.T, explained


def candidate_map(candidates: np.ndarray, values: Any) -> np.ndarray:
    """Place per-candidate ``values`` (N,) on the candidate grid (n_rows, n_cols), NaN elsewhere."""
    cand = np.asarray(candidates)
    rows, ri = np.unique(cand[:, 0], return_inverse=True)
    cols, ci = np.unique(cand[:, 1], return_inverse=True)
    grid = np.full((rows.size, cols.size), np.nan)
    grid[ri, ci] = np.asarray(values, dtype=float)
    return grid
