"""Plan stubs: the steps whole autoscope plans are made of.

A whole plan (:mod:`autoscope.plans`) opens a run and composes these: acquire the
structural image together with the candidate geometry (stream ``structure``),
move the probe to a pixel, measure and read one spectrum with its scalar value
(stream ``primary``), and record a decision (stream ``decisions``). Values that
no instrument measures (row, column, candidate id, scalar value, decision
details) are published through small soft devices (:class:`PointInfo`,
:class:`Geometry`, :class:`Decision`, :class:`DecisionWithMaps`, defined in
``autoscope._soft_devices`` and importable from here) so they travel as ordinary
event data. Their reading keys are the device name plus the field
(``point_value``, ``decision_chosen_id``, ``geometry_candidates``, ...).

Devices are typed by :mod:`bluesky.protocols`: a *microscope* is any device with
a movable ``probe.x``/``probe.y`` (physical units), a triggerable + readable
``structure`` detector (one ``(H, W)`` or ``(H, W, C)`` array field), a
triggerable + readable ``spectrometer`` (one array field, plus an ``*_axis``
configuration field) and a method ``pixel_to_position(row, col) -> (x, y)``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

import bluesky.plan_stubs as bps
import numpy as np
from bluesky.preprocessors import contingency_wrapper, make_decorator, rewindable_wrapper
from bluesky.utils import MsgGenerator, RunEngineControlException

from autoscope._guarded_read import GuardedReadable
from autoscope._soft_devices import Decision, DecisionWithMaps, Geometry, PointInfo
from autoscope.errors import InputDataError

__all__ = [
    "Decision",
    "DecisionWithMaps",
    "Geometry",
    "PointInfo",
    "acquire_image",
    "array_key",
    "measure_point",
    "move_to_pixel",
    "no_rewind",
    "record_decision",
    "run_outcome_decorator",
    "run_outcome_wrapper",
]

logger = logging.getLogger(__name__)

_NAN = float("nan")


# -- helpers that inspect devices (plain functions, no messages) ----------------------
def array_key(detector: Any) -> tuple[str, tuple[int, ...]]:
    """Return the reading key and shape of a detector's one array field.

    Hinted fields win when a detector reads several arrays.

    Raises
    ------
    ValueError
        If the detector reads no array, or several equally likely ones.
    """
    desc = detector.describe()
    arrays = {k: tuple(int(n) for n in v.get("shape") or ()) for k, v in desc.items()}
    arrays = {k: s for k, s in arrays.items() if len(s) >= 1}
    hinted = set((getattr(detector, "hints", None) or {}).get("fields", ()))
    chosen = [k for k in arrays if k in hinted] or list(arrays)
    if len(chosen) != 1:
        raise InputDataError(
            f"{detector.name}: expected exactly one array field to read, got {sorted(chosen)}"
        )
    return chosen[0], arrays[chosen[0]]


# -- plan stubs ------------------------------------------------------------------------
def no_rewind(plan) -> MsgGenerator:
    """Run ``plan`` with RunEngine rewinding off (a pause inside it resumes where it was).

    Acquisitions and events must not be replayed after a pause: a replayed
    ``save`` stores an event twice and a replayed trigger measures new noise.
    Turning rewinding off also clears the RunEngine's message cache, so a pause
    right after the wrapped plan does not replay it either.
    """
    return (yield from rewindable_wrapper(plan, False))


def move_to_pixel(microscope: Any, row: int, col: int, *, retries: int = 0,
                  backoff: float = 0.1):  # fmt: skip
    """Move the probe to pixel ``(row, col)`` (both axes together, waiting).

    A move that fails (its status fails, e.g. a controller error or a timeout)
    is tried again up to ``retries`` times, after ``backoff * 2**k`` s.

    Yields
    ------
    Msg

    Returns
    -------
    bool
        ``True`` once the probe is there; ``False`` when every try failed
        (never with ``retries=0``: the failure is raised).
    """
    x, y = microscope.pixel_to_position(int(row), int(col))
    for attempt in range(retries + 1):
        try:
            yield from bps.mv(microscope.probe.x, float(x), microscope.probe.y, float(y))
            return True
        except RunEngineControlException:
            raise
        except Exception as exc:
            if retries == 0:
                raise
            logger.warning("move to pixel (%d, %d) failed (try %d of %d): %s: %s", row, col,
                           attempt + 1, retries + 1, type(exc).__name__, exc)  # fmt: skip
            if attempt < retries:
                yield from bps.sleep(backoff * 2**attempt)
    return False


def acquire_image(
    microscope: Any,
    describe: Callable[[np.ndarray | None], list[Any]] | None = None,
    *,
    stream: str = "structure",
) -> MsgGenerator:
    """Trigger the structural detector and save its image as one event.

    Parameters
    ----------
    microscope : device
        See the module docstring.
    describe : callable, optional
        ``describe(image) -> [readable, ...]``, called with the acquired image
        (shape (H, W) or (H, W, C); ``None`` when the plan is only listed), whose
        returned devices are read into the same event (e.g. a :class:`Geometry`).
    stream : str
        Event stream name.

    Returns
    -------
    ndarray or None
        The image (``None`` when no RunEngine answered the read).
    """
    det = microscope.structure
    key, _ = array_key(det)

    def acquire() -> MsgGenerator:
        yield from bps.trigger(det, wait=True)
        yield from bps.create(stream)
        reading = yield from bps.read(det)
        image = None if reading is None else np.asarray(reading[key]["value"], dtype=float)
        for extra in describe(image) if describe is not None else ():
            yield from bps.read(extra)
        yield from bps.save()
        return image

    return (yield from no_rewind(acquire()))


def measure_point(
    microscope: Any,
    point: PointInfo,
    scalarize: Callable[[np.ndarray], float],
    *,
    spectrum_key: str,
    row: int,
    col: int,
    candidate_id: int,
    step: int,
    phase: str,
    stream: str = "primary",
    retries: int = 3,
    backoff: float = 0.05,
) -> MsgGenerator:
    """Move to a pixel, trigger the spectrometer and save spectrum + scalar as one event.

    Every measurement is stored, a failed one flagged: the spectrum is read
    through :class:`~autoscope._guarded_read.GuardedReadable`, so an empty,
    short or long one is stored NaN-padded or cut to the declared shape (its
    raw length in ``point_raw_length``); an empty, wrong-length, NaN/inf or
    all-zero spectrum, a move that failed ``retries + 1`` times (with back-off)
    or a failed acquisition sets ``point_fault`` and the value NaN, and the
    run goes on (the loop excludes NaN points from the model).

    The scalar is computed from the very spectrum that is saved; a scalarizer
    that fails or returns a non-finite number gives NaN (logged), the spectrum
    is saved regardless. The move may be rewound by a pause; the acquisition
    and the event are not (:func:`no_rewind`), so a pause never stores a
    measurement twice nor pairs a spectrum with another spectrum's scalar.

    Parameters
    ----------
    microscope : device
        See the module docstring.
    point : PointInfo
        Soft device carrying row/col/candidate id/value/step/phase.
    scalarize : callable
        ``scalarize(spectrum) -> float`` (axis bound).
    spectrum_key : str
        Reading key of the spectrum (:func:`spectrometer_setup`).
    row, col : int
        Pixel to measure.
    candidate_id : int
        Index of the pixel among the candidates.
    step : int
        0-based measurement index.
    phase : str
        What chose the point (``"seed"``, ``"dkl"``, ...).
    stream : str
        Event stream name.
    retries, backoff : int, float
        Extra tries of a failed probe move and the first wait between tries, s
        (doubled each time).

    Returns
    -------
    (ndarray or None, float)
        The spectrum and its scalar value (``None``/NaN when only listed; NaN
        for a failed measurement).
    """
    moved = yield from move_to_pixel(microscope, row, col, retries=retries, backoff=backoff)
    guard = _guarded(point, microscope.spectrometer, spectrum_key)

    def acquire() -> MsgGenerator:
        fault = "" if moved else "move"
        if moved:
            try:
                yield from bps.trigger(microscope.spectrometer, wait=True)
            except RunEngineControlException:
                raise
            except Exception as exc:
                logger.warning("step %d: acquisition failed: %s: %s", step, type(exc).__name__, exc)
                fault = "acquire"
        guard.failed = fault
        yield from bps.create(stream)
        reading = yield from bps.read(guard)
        spectrum = None if reading is None else np.asarray(reading[spectrum_key]["value"], float)
        fault = guard.fault if reading is not None else fault
        if fault:
            logger.warning("step %d: failed measurement (%s) at pixel (%d, %d): stored, "
                           "flagged, value NaN", step, fault, row, col)  # fmt: skip
        value = _NAN if spectrum is None or fault else _safe_scalar(scalarize, spectrum, step)
        point.row.put(int(row))
        point.col.put(int(col))
        point.candidate_id.put(int(candidate_id))
        point.value.put(value)
        point.step.put(int(step))
        point.phase.put(str(phase))
        point.fault.put(fault)
        point.raw_length.put(guard.raw_length if reading is not None else 0)
        yield from bps.read(microscope.probe)
        yield from bps.read(point)
        yield from bps.save()
        return spectrum, value

    return (yield from no_rewind(acquire()))


def _guarded(point: PointInfo, spectrometer: Any, key: str) -> GuardedReadable:
    """Return the run's one guarded reader of ``spectrometer`` (kept on ``point``)."""
    guard = getattr(point, "_autoscope_guard", None)
    if guard is None or guard.detector is not spectrometer or guard.key != key:
        guard = GuardedReadable(spectrometer, key)
        point._autoscope_guard = guard
    return guard


def _safe_scalar(
    scalarize: Callable[[np.ndarray], float], spectrum: np.ndarray, step: int
) -> float:
    try:
        value = float(scalarize(spectrum))
    except Exception as exc:  # noqa: BLE001 - a spectrum is never lost to a bad scalarizer
        logger.warning(
            "step %d: scalarizer failed (%s: %s); value set to NaN", step, type(exc).__name__, exc
        )
        return _NAN
    if not math.isfinite(value):
        logger.warning("step %d: scalarizer returned %r; value set to NaN", step, value)
        return _NAN
    return value


def record_decision(
    decision: Decision, n_candidates: int = 0, *, stream: str = "decisions", **fields: Any
) -> MsgGenerator:
    """Publish one decision (see :class:`Decision` for the fields) as an event.

    Yields
    ------
    Msg
    """
    decision.publish(n_candidates, **fields)

    def read() -> MsgGenerator:  # a plain generator: nothing is built before the wrapper runs it
        yield from bps.trigger_and_read([decision], name=stream)

    yield from no_rewind(read())


# -- a run wrapper whose stop document says why the run ended --------------------------
def run_outcome_wrapper(
    plan, md: Mapping[str, Any] | None = None, outcome: dict | None = None
) -> MsgGenerator:
    """Enclose a plan in a run like :func:`bluesky.preprocessors.run_wrapper`.

    On success the stop document's ``reason`` is ``outcome["reason"]`` (set by
    the plan as it runs), so a run that ended on its stopping criterion says so,
    and its ``exit_status`` is ``outcome["exit_status"]`` (default ``"success"``;
    ``"fail"`` for a run that ended because its detector failed).

    Parameters
    ----------
    plan : iterable
        The plan to enclose.
    md : dict, optional
        Start-document metadata.
    outcome : dict, optional
        Mutable dict; its ``"reason"`` and ``"exit_status"`` are read when the plan ends.

    Returns
    -------
    str
        The run start uid.
    """
    outcome = {} if outcome is None else outcome
    rs_uid = yield from bps.open_run(md)

    def except_plan(e) -> MsgGenerator:
        if isinstance(e, RunEngineControlException):
            yield from bps.close_run(exit_status=e.exit_status)  # type: ignore[attr-defined]
        else:
            yield from bps.close_run(exit_status="fail", reason=str(e))

    def else_plan() -> MsgGenerator:
        status = outcome.get("exit_status") or "success"
        yield from bps.close_run(exit_status=status, reason=str(outcome.get("reason") or ""))

    yield from contingency_wrapper(plan, except_plan=except_plan, else_plan=else_plan)
    return rs_uid


run_outcome_decorator = make_decorator(run_outcome_wrapper)
