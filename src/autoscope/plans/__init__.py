"""Whole Bluesky plans of an autonomous microscopy experiment, one run per experiment.

:func:`dkl_explore` is the deep-kernel-learning loop; :func:`raster_spectra`,
:func:`random_spectra` and :func:`direct_spectra` are baselines stored the same
way; :func:`acquire_structure` takes the structural image alone. Every plan
validates its arguments when it is *built* (a plain function that returns the
generator), so a bad spec fails before anything moves. Their queueserver
annotations (:mod:`autoscope.plans._annotations`: devices by name, registered
names, integer bounds) make bluesky-queueserver refuse a bad item at
``item_add``. Each carries ``_is_plan_ = True``, the mark that
``bluesky.utils.is_plan`` (and so the queueserver) reads for plans that are not
generator functions themselves. Parameters are JSON types or device names.

Streams of an experiment run (keys in :mod:`autoscope.plan_stubs`):

- ``structure`` (1 event): the structural image and the candidate geometry
  (``geometry_patch_size``, ``geometry_stride``, ``geometry_pixel_size``,
  ``geometry_candidates`` (N, 2), ``geometry_recommender_config``).
- ``primary`` (1 event per measurement): probe x/y, the full spectrum,
  ``point_row``, ``point_col``, ``point_candidate_id``, ``point_value``,
  ``point_step``, ``point_phase``.
- ``decisions`` (1 event per decision, plus a final one with ``chosen_id = -1``
  whose ``reason`` says why the run stopped; see :class:`~autoscope.plan_stubs.Decision`).

The start document's ``autoscope`` key holds everything a replay needs (specs,
seeds, geometry, instrument description, reading keys, spectral axis); see
``docs/plans.md``.
"""

# No ``from __future__ import annotations`` here: bluesky-queueserver validates plan parameters
# from the evaluated annotations (string annotations fail its pydantic models).
import time
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
import numpy as np

from autoscope._calibration import ForecastCalibration
from autoscope._dkl_loop import dkl_loop
from autoscope._plan_setup import (
    PlanSetup,
    check_int,
    detect_objects,
    model_spec,
    nearest_candidates,
    policy_spec,
    prepare,
    raster_order,
    resolve_seed_points,
)
from autoscope._stopping import StopCriteria
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

__all__ = ["acquire_structure", "direct_spectra", "dkl_explore", "random_spectra", "raster_spectra"]


def _is_plan(func):
    """Mark a validate-then-return-generator function as a plan for ``bluesky.utils.is_plan``.

    ``bluesky.utils.plan`` would do the same but wraps the call in ``Plan``, whose
    ``__del__`` fails when the function raises while it is built (bluesky 1.15), which is
    exactly how these plans reject bad arguments.
    """
    func._is_plan_ = True
    return func


def _make_recommender(image: np.ndarray, config: dict[str, Any]) -> Any:
    """Build the DKL recommender from the image and its JSON configuration."""
    from autoscope.recommender import DKLRecommender

    return DKLRecommender(image, **config)


@_is_plan
@annotate
def acquire_structure(microscope: Any, *, md: dict | None = None):
    """Acquire the structural image alone, as a run with one ``structure`` event.

    Parameters
    ----------
    microscope : device
        An instrument with a ``structure`` detector (see :mod:`autoscope.plan_stubs`).
    md : dict, optional
        Extra start-document metadata (wins over the defaults).

    Returns
    -------
    str
        The run uid.

    Raises
    ------
    ValueError
        If ``microscope`` has no ``structure`` detector or ``md`` is not a dict.
    """
    if getattr(microscope, "structure", None) is None:
        raise InputDataError(
            f"microscope {getattr(microscope, 'name', microscope)!r} has no structure"
        )
    if md is not None and not isinstance(md, dict):
        raise InputDataError(f"md must be a dict or None, got {type(md).__name__}")
    _md = {"plan_name": "acquire_structure", "plan_args": {"microscope": microscope.name}}
    _md.update(num_points=1, autoscope={"plan": "acquire_structure"})
    _md.update(md or {})
    return _structure_plan(microscope, _md)


def _structure_plan(microscope: Any, md: dict):
    @bpp.stage_decorator([microscope.structure])
    @bpp.run_decorator(md=md)
    def inner():
        yield from acquire_image(microscope)

    return (yield from inner())


@_is_plan
@annotate
def dkl_explore(
    microscope: Any,
    scalarizer: str | dict,
    policy: str | dict = "ei",
    budget: int = 100,
    n_seed: int = 10,
    patch_size: int = 16,
    seed: int | None = None,
    *,
    model: str | dict = "committee",
    calibration: str = "reported",
    stride: int = 1,
    seed_points: list | None = None,
    stop: dict | None = None,
    map_every: int = 1,
    steering: Any = None,
    md: dict | None = None,
):
    """Explore a sample with deep kernel learning: image, seed spectra, then model-chosen spectra.

    Acquire the structural image and build the recommender on its patches;
    measure the seed points; then repeat: suggest (after ingesting the last
    value and retraining), record the decision, move, measure, ingest,
    checkpoint; until ``budget`` spectra (seeds included) are measured or the
    recommender's stopping criterion holds. A final ``decisions`` event
    (``chosen_id = -1``) carries the final maps and the reason for stopping.
    A NaN scalar is recorded but not ingested; a :class:`ModelFittingError` is
    recorded (``fallback = 1``) and a random unmeasured candidate is measured.

    Parameters
    ----------
    microscope : device
        Instrument with ``probe.x``/``probe.y`` (movable), ``structure`` and
        ``spectrometer`` (triggerable, readable) and ``pixel_to_position``; a
        device name through the queueserver.
    scalarizer : str or dict
        Scalarizer name or ``{"name", "params"}`` spec (``autoscope.scalarizers``),
        validated against the spectrometer's axis and spectrum shape.
    policy : str or dict
        Acquisition policy name or spec (``autoscope.policies``).
    budget : int
        Total number of spectra, seeds included (1 <= budget <= N candidates).
    n_seed : int
        Number of random seed points (1 <= n_seed <= budget); ignored when
        ``seed_points`` is given.
    patch_size : int
        Patch side in pixels (1 <= patch_size <= min(H, W)).
    seed : int, optional
        Seed of the seed-point draw and of the recommender; drawn from OS
        entropy when omitted and stored in the start document.
    model : str or dict
        Model name or spec (``autoscope.models``); default ``"committee"`` (the
        spatial DKL, a deep kernel on the patch + kernel on the position, mixed with a
        GP on the position; decision 0010), ``"spatial_dkl"`` alone, ``"dkl"`` for
        the patch only.
    calibration : {"reported", "prequential", "none"}
        The recommender's variance calibration (``docs/model.md`` §5): ``"reported"``
        widens the stored maps' uncertainty by the model's forecast errors without
        changing its decisions; ``"prequential"`` lets the policy see the widened
        posterior too. The factor is recorded as ``variance_factor`` in the
        ``decisions`` stream.
    stride : int
        Candidate grid spacing in pixels.
    seed_points : list of [row, col], optional
        User-chosen seed pixels, each snapped to the nearest candidate.
    stop : dict, optional
        Stopping-criterion parameters, passed to the recommender as ``stop``.
    map_every : int
        Record the predicted mean / std / acquisition maps (N,) every this many
        decisions and at the final one (0: never); skipped steps carry NaN maps.
    steering : Steering, optional
        An :class:`autoscope.steering.Steering` device (by name through the
        queueserver): at every step boundary its queued interventions (and BOARS
        votes) are applied and recorded in the ``interventions`` (``votes``)
        stream; see ``docs/steering.md``.
    md : dict, optional
        Extra start-document metadata (wins over the defaults).

    Returns
    -------
    str
        The run uid.

    Raises
    ------
    ValueError
        When the plan is built, for a bad device, spec or parameter.
    """
    s = prepare(microscope, scalarizer, budget, patch_size, stride, seed, md, "dkl_explore")
    pol, mod = policy_spec(policy), model_spec(model)
    map_every = check_int("map_every", map_every, 0)
    ForecastCalibration(calibration)  # validate the mode now
    if steering is not None and not all(hasattr(steering, a) for a in ("pending", "applied")):
        raise InputDataError(
            f"steering must be a Steering device (autoscope.steering), "
            f"got {type(steering).__name__}"
        )
    if stop is not None:
        if not isinstance(stop, dict):
            raise InputDataError(f"stop must be a dict or None, got {type(stop).__name__}")
        StopCriteria(stop)  # validate the criteria now
    if seed_points is not None:
        seed_ids = resolve_seed_points(seed_points, s.candidates, s.image_shape)
        if len(seed_ids) > s.budget:
            raise InputDataError(f"{len(seed_ids)} seed_points exceed the budget {s.budget}")
    else:
        n_seed = check_int("n_seed", n_seed, 1, s.budget)
        seed_ids = [int(i) for i in s.rng.choice(len(s.candidates), n_seed, replace=False)]
    config = {"patch_size": s.patch_size, "stride": s.stride, "policy": pol, "seed": s.seed}
    config["model"] = mod
    config["calibration"] = calibration
    if stop is not None:
        config["stop"] = dict(stop)
    s.plan_args.update(policy=pol, n_seed=len(seed_ids), model=mod, map_every=map_every)
    s.plan_args.update(calibration=calibration)
    s.plan_args.update(seed_points=seed_points, stop=stop)
    s.ns.update(policy=pol, model=mod, recommender=config, n_seed=len(seed_ids))
    s.ns.update(seed_ids=seed_ids, stop=stop, map_every=map_every)
    if steering is not None:
        s.plan_args.update(steering=steering.name)
        s.ns.update(steering=steering.name)
    # a late-bound factory, so that tests can swap the recommender (``plans._make_recommender``)
    return dkl_loop(
        s,
        config,
        seed_ids,
        map_every,
        s.metadata(),
        lambda im, cf: _make_recommender(im, cf),
        steering=steering,
    )


# -- baselines ----------------------------------------------------------------------------------
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


@_is_plan
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


@_is_plan
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


@_is_plan
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
    :func:`~autoscope._plan_setup.detect_objects` (``"log"``: Laplacian of
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
    params = {"threshold": threshold, "min_sigma": min_sigma, "max_sigma": max_sigma}
    params.update(min_distance=min_distance, invert=bool(invert))
    s.plan_args.update(detector=detector, seed=None, **params)
    s.ns.update(detector={"name": detector, "params": params}, seed=None)

    def choose(image):
        objects = detect_objects(image, detector, **params)
        ids = list(dict.fromkeys(nearest_candidates(objects[:, :2], s.candidates)))
        reason = "budget" if len(ids) >= s.budget else "no more objects"
        return ids[: s.budget], reason

    return _baseline_plan(s, choose, "direct", s.metadata())
