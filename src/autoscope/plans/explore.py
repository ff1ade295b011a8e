"""The autonomous experiment: :func:`dkl_explore` validates its arguments and returns the run.

The run itself is :func:`autoscope.plans.loop.dkl_loop`, Bluesky messages around the
:class:`~autoscope.recommender.ExplorationSession`.
"""

# No ``from __future__ import annotations`` here: bluesky-queueserver validates plan parameters
# from the evaluated annotations (string annotations fail its pydantic models).
from collections.abc import Callable
from typing import Any

import bluesky.preprocessors as bpp
import numpy as np

from autoscope.errors import InputDataError
from autoscope.plans._annotations import annotate
from autoscope.plans.loop import dkl_loop
from autoscope.plans.points import resolve_seed_points
from autoscope.plans.remote import decision_server, model_spec_of, remote_sessions
from autoscope.plans.setup import check_int, is_plan, model_spec, policy_spec, prepare
from autoscope.recommender.calibration import ForecastCalibration
from autoscope.recommender.session import DEFAULT_MAX_FAILURES
from autoscope.recommender.stopping import StopCriteria

__all__ = ["dkl_explore"]


def _make_recommender(image: np.ndarray, config: dict[str, Any]) -> Any:
    """Build the recommender through ``autoscope.plans._make_recommender`` (a seam tests swap)."""
    from autoscope import plans

    return plans._make_recommender(image, config)


@is_plan
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
    max_failures: int | None = DEFAULT_MAX_FAILURES,
    overlap: bool = False,
    batch_size: int = 1,
    recommender: Any = None,
    md: dict | None = None,
):
    """Explore a sample with deep kernel learning: image, seed spectra, then model-chosen spectra.

    Acquire the structural image and build the recommender on its patches;
    measure the seed points; then repeat: suggest (after ingesting the last
    value and retraining), record the decision, move, measure, ingest,
    checkpoint; until ``budget`` spectra (seeds included) are measured or the
    recommender's stopping criterion holds. A final ``decisions`` event
    (``chosen_id = -1``) carries the final maps and the reason for stopping.
    Each step is :class:`~autoscope.recommender.ExplorationSession`'s: a failed
    point (empty, short or non-finite spectrum, NaN scalar) is stored, flagged by
    its NaN ``point_value``, never trained on and never measured again;
    ``max_failures`` of them in a row stop the run with reason ``"detector"`` and
    ``exit_status="fail"``; a model fallback or :class:`ModelFittingError` is
    recorded (``fallback = 1``, ``reason``) and, for the latter, a random
    unmeasured candidate is measured.

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
    max_failures : int or None
        Consecutive failed points that end the run as a failure (reason
        ``"detector"``); ``None`` never stops on failures.
    overlap : bool
        Compute the next decision in a worker thread while the current point is
        measured (the point being measured is pending at the recommender, its value
        not yet known); the RunEngine only waits on the worker's future, so pause and
        abort stay immediate. Opt-in: the default decides, then measures. What the model
        knew at each decision is recorded (``batch``, ``n_known``, ``pending_ids``),
        so a replay reproduces the run. Not combined with ``steering`` yet.
    batch_size : int
        Points chosen per decision (a greedy kriging-believer batch,
        :mod:`autoscope.recommender.batch`), then measured one after the other: one
        ``decisions`` event per point, sharing a ``batch`` index. For detectors much
        faster than a decision. Not combined with ``steering`` yet.
    recommender : RemoteRecommender or str, optional
        Where the model runs: ``None`` (default) in this process; a
        :class:`autoscope.remote.RemoteRecommender` or its address
        (``"tcp://gpu-host:5555"``) for a decision server on another machine
        (``autoscope decide-server``), which builds the same recommender from this
        run's image, model, policy and seed. The server must answer when the plan is
        built, and validates ``model`` there. A decision the server does not answer
        in time is recorded as a model failure (``fallback = 1``) and the run goes on.
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
    remote = decision_server(recommender)  # reachable and of this protocol, or refused now
    pol = policy_spec(policy)
    mod = model_spec(model) if remote is None else remote.validate_model(model_spec_of(model))
    map_every = check_int("map_every", map_every, 0)
    if max_failures is not None:
        max_failures = check_int("max_failures", max_failures, 1)
    ForecastCalibration(calibration)  # validate the mode now
    if steering is not None and not all(hasattr(steering, a) for a in ("pending", "applied")):
        raise InputDataError(
            f"steering must be a Steering device (autoscope.steering), "
            f"got {type(steering).__name__}"
        )
    if not isinstance(overlap, bool):
        raise InputDataError(f"overlap must be True or False, got {overlap!r}")
    batch_size = check_int("batch_size", batch_size, 1, s.budget)
    if steering is not None and (overlap or batch_size > 1):
        raise InputDataError(
            "steering cannot be combined with overlap=True or batch_size > 1 yet: "
            "interventions apply between two decisions of a plain run"
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
    s.plan_args.update(seed_points=seed_points, stop=stop, max_failures=max_failures)
    if overlap or batch_size > 1:  # recorded only when used: plain runs keep their specs
        s.plan_args.update(overlap=overlap, batch_size=batch_size)
        s.ns.update(overlap=overlap, batch_size=batch_size)
    s.ns.update(policy=pol, model=mod, recommender=config, n_seed=len(seed_ids))
    s.ns.update(seed_ids=seed_ids, stop=stop, map_every=map_every, max_failures=max_failures)
    if steering is not None:
        s.plan_args.update(steering=steering.name)
        s.ns.update(steering=steering.name)
    make: Callable[[np.ndarray, dict[str, Any]], Any] = _make_recommender
    close = None
    if remote is not None:  # recorded only when used
        s.plan_args.update(recommender=remote.address)
        s.ns.update(decision_server={"address": remote.address, **remote.server})
        make, close = remote_sessions(remote)
    run = dkl_loop(
        s,
        config,
        seed_ids,
        map_every,
        s.metadata(),
        make,
        steering=steering,
        max_failures=max_failures,
        overlap=overlap,
        batch_size=batch_size,
    )
    return run if close is None else bpp.finalize_wrapper(run, close)
