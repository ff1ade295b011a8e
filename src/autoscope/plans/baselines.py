"""Baseline plans stored like ``dkl_explore``: raster, random and direct (object-found) spectra.

Each picks its points without a model (a serpentine raster over the candidate grid, a
seeded random draw, objects found in the structural image), then measures them with
the same streams as :func:`autoscope.plans.dkl_explore`, so every analysis reads
them alike.
"""

# No ``from __future__ import annotations`` here: bluesky-queueserver validates plan parameters
# from the evaluated annotations (string annotations fail its pydantic models).
import time
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
import numpy as np

from autoscope.errors import InputDataError
from autoscope.plan_stubs import (
    Decision,
    Geometry,
    PointInfo,
    acquire_image,
    measure_point,
    record_decision,
    run_outcome_decorator,
)
from autoscope.plans._annotations import annotate
from autoscope.plans.points import detect_objects, nearest_candidates, raster_order
from autoscope.plans.setup import PlanSetup, check_int, is_plan, prepare

__all__ = ["direct_spectra", "random_spectra", "raster_spectra"]


def _baseline_plan(s: PlanSetup, choose, phase: str, md: dict):
    """Run a fixed-order baseline: ``choose(image) -> (ids, reason)`` picks the points."""
    n_cand = len(s.candidates)
    point, geometry, decision = (
        PointInfo(name="point"),
        Geometry(name="geometry"),
        Decision(name="decision"),
    )
    outcome = {"reason": ""}

    @bpp.stage_decorator([s.microscope])
    @run_outcome_decorator(md=md, outcome=outcome)
    def inner():
        image = yield from acquire_image(s.microscope, lambda _: s.geometry(geometry))
        if image is None:
            return
        t0 = time.perf_counter()
        ids, reason = choose(image)
        t_choose = time.perf_counter() - t0
        for step, cid in enumerate(ids):
            t = t_choose if step == 0 else 0.0
            yield from record_decision(decision, n_cand, step=step, chosen_id=cid, t_total=t)
            row, col = s.candidates[cid]
            yield from measure_point(
                s.microscope, point, s.scalarize, spectrum_key=s.spectrum_key, row=row, col=col,
                candidate_id=cid, step=step, phase=phase,
            )  # fmt: skip
            yield from bps.checkpoint()
        yield from record_decision(decision, n_cand, step=len(ids), chosen_id=-1, reason=reason)
        outcome["reason"] = reason

    return (yield from inner())


@is_plan
@annotate
def raster_spectra(
    microscope: Any,
    scalarizer: str | dict,
    budget: int = 100,
    patch_size: int = 16,
    stride: int | None = None,
    *,
    md: dict | None = None,
):
    """Measure on a serpentine raster over the candidate grid (baseline).

    Parameters
    ----------
    microscope, scalarizer, budget, patch_size, md
        As in :func:`dkl_explore` (the candidate grid has stride 1).
    stride : int, optional
        Raster step in pixels; ``None`` spaces ``n_r x n_c <= budget`` rows and
        columns evenly over the candidate grid.

    Returns
    -------
    str
        The run uid.

    Raises
    ------
    ValueError
        When the plan is built, for a bad device, spec or parameter.
    """
    s = prepare(microscope, scalarizer, budget, patch_size, 1, 0, md, "raster_spectra")
    step = None if stride is None else check_int("stride", stride, 1)
    ids = raster_order(s.candidates, s.budget, step)
    s.plan_args.update(stride=stride, seed=None)
    s.ns.update(raster_step=step, seed=None, order=ids)
    return _baseline_plan(s, lambda _: (ids, "raster complete"), "raster", s.metadata())


@is_plan
@annotate
def random_spectra(
    microscope: Any,
    scalarizer: str | dict,
    budget: int = 100,
    patch_size: int = 16,
    seed: int | None = None,
    *,
    md: dict | None = None,
):
    """Measure at ``budget`` distinct candidates drawn uniformly at random (baseline).

    Parameters are as in :func:`dkl_explore`; ``seed`` seeds the draw
    (``np.random.default_rng([seed, 1])``), stored in the start document.

    Returns
    -------
    str
        The run uid.

    Raises
    ------
    ValueError
        When the plan is built, for a bad device, spec or parameter.
    """
    s = prepare(microscope, scalarizer, budget, patch_size, 1, seed, md, "random_spectra")
    ids = [int(i) for i in s.rng.choice(len(s.candidates), s.budget, replace=False)]
    s.ns.update(order=ids)
    return _baseline_plan(s, lambda _: (ids, "budget"), "random", s.metadata())


@is_plan
@annotate
def direct_spectra(
    microscope: Any,
    scalarizer: str | dict,
    budget: int = 100,
    detector: str = "log",
    patch_size: int = 16,
    *,
    threshold: float = 0.1,
    min_sigma: float = 1.0,
    max_sigma: float | None = None,
    min_distance: int = 2,
    invert: bool = False,
    md: dict | None = None,
):
    """Measure at objects found in the structural image, strongest first (direct mode).

    Objects (atom columns, particles, walls) are found by
    :func:`~autoscope.plans.points.detect_objects` (``"log"``: Laplacian of
    Gaussian blobs; ``"peaks"``: local maxima), snapped to the nearest candidate,
    de-duplicated, and measured in order of detector strength until ``budget``
    spectra are taken or the objects run out.

    Parameters
    ----------
    microscope, scalarizer, budget, patch_size, md
        As in :func:`dkl_explore`.
    detector : {"log", "peaks"}
    threshold : float
        Relative detection threshold in (0, 1].
    min_sigma, max_sigma : float
        Blob scales in pixels for ``"log"`` (``max_sigma`` defaults to ``patch_size / 2``).
    min_distance : int
        Minimum peak separation in pixels for ``"peaks"``.
    invert : bool
        Look for dark objects instead of bright ones.

    Returns
    -------
    str
        The run uid.

    Raises
    ------
    ValueError
        When the plan is built, for a bad device, spec or parameter.
    """
    s = prepare(microscope, scalarizer, budget, patch_size, 1, 0, md, "direct_spectra")
    if detector not in ("log", "peaks"):
        raise InputDataError(f"detector must be 'log' or 'peaks', got {detector!r}")
    max_sigma = float(patch_size) / 2 if max_sigma is None else max_sigma
    for name, v in (("threshold", threshold), ("min_sigma", min_sigma), ("max_sigma", max_sigma)):
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v < np.inf:
            raise InputDataError(f"{name} must be a positive number, got {v!r}")
    if threshold > 1 or max_sigma < min_sigma:
        raise InputDataError(
            f"need threshold <= 1 and max_sigma >= min_sigma, got {threshold}, {max_sigma}"
        )
    min_distance = check_int("min_distance", min_distance, 1)
    params: dict[str, Any] = {"threshold": threshold, "min_sigma": min_sigma}
    params.update(max_sigma=max_sigma, min_distance=min_distance, invert=bool(invert))
    s.plan_args.update(detector=detector, seed=None, **params)
    s.ns.update(detector={"name": detector, "params": params}, seed=None)

    def choose(image):
        objects = detect_objects(image, detector, **params)
        ids = list(dict.fromkeys(nearest_candidates(objects[:, :2], s.candidates)))
        reason = "budget" if len(ids) >= s.budget else "no more objects"
        return ids[: s.budget], reason

    return _baseline_plan(s, choose, "direct", s.metadata())
