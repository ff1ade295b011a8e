"""Instrument idle per point: the gap between two spectra minus the dwell, per run mode.

The README pattern, really run: a RunEngine whose documents go through the default
writer (:func:`autoscope.storage.make_writer`, journal included) into an embedded Tiled
catalog, :func:`autoscope.plans.dkl_explore` on a ``SimSTEM`` whose spectrometer takes
``dwell`` seconds per spectrum, the default committee and EI. The *idle per point* is
the time between two consecutive spectra (``primary`` event times) that ends at a
model-chosen one, minus the dwell: the time the spectrometer was not measuring because
the plan was deciding, moving, storing or waiting for the decision worker.

Modes (:data:`IDLE_MODES`): ``plain`` (the default: decide, then measure), ``overlap``
(``overlap=True``: the next decision in a worker thread while the point is measured)
and ``overlap_fast`` (``overlap=True`` with :data:`FAST_MODEL`, the fast update path
whose retrains run on a copy in a background thread, so no decision trains); on request
``overlap_fast_batch4`` (the same, 4 points per decision).

This is the one module of :mod:`autoscope.bench` that drives the instrument and the
storage (declared in the import contracts); the rest of the benchmark drives the
recommender in-process.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from autoscope.errors import InputDataError
from autoscope.models import FAST_COMMITTEE

__all__ = [
    "DEFAULT_IDLE_MODES",
    "FAST_MODEL",
    "IDLE_MODES",
    "idle_markdown",
    "idle_run",
    "idle_table",
]

#: the model spec behind ``overlap_fast``
FAST_MODEL: dict[str, Any] = FAST_COMMITTEE

#: mode → (``dkl_explore`` keyword arguments, what it is)
IDLE_MODES: dict[str, tuple[dict[str, Any], str]] = {
    "plain": ({}, "decide, then measure (the default)"),
    "overlap": ({"overlap": True}, "the next decision computed while the point is measured"),
    "overlap_fast": (
        {"overlap": True, "model": FAST_MODEL},
        "overlap + the fast update path, retrains in the background "
        "(FAST_COMMITTEE: refit_every=5, refit_lag=2)",
    ),
    "overlap_fast_batch4": (
        {"overlap": True, "model": FAST_MODEL, "batch_size": 4},
        "overlap_fast deciding 4 points at a time (for dwells shorter than a decision)",
    ),
}

#: the modes measured unless others are asked for
DEFAULT_IDLE_MODES = ("plain", "overlap", "overlap_fast")


def idle_run(
    catalog: Any,
    mode: str,
    dwell: float,
    *,
    shape: int = 64,
    budget: int = 30,
    n_seed: int = 10,
    seed: int = 0,
    journal: str | None = None,
) -> dict[str, Any]:
    """Run ``dkl_explore`` once in ``mode``; return the idle per point and decision times.

    Parameters
    ----------
    catalog : tiled client
        Where the default writer stores the run (:func:`autoscope.storage.open_catalog`).
    mode : str
        A key of :data:`IDLE_MODES`.
    dwell : float
        Spectral dwell in s (> 0).
    shape : int
        Grid side of the ``SimSTEM`` in pixels (patch 16).
    budget, n_seed, seed : int
        As for :func:`autoscope.plans.dkl_explore`.
    journal : str, optional
        The writer's journal directory (default: the user's, as in ``make_writer``).

    Returns
    -------
    dict
        ``idle`` (s, one per gap ending at a model-chosen spectrum), ``decide`` (the
        decisions stream's ``t_total`` per decision, s), ``first_idle`` (s, the gap
        after the last seed: the first decision), ``wall`` (s, the whole run).

    Raises
    ------
    ValueError
        An unknown mode or a non-positive dwell.
    """
    from bluesky import RunEngine

    from autoscope.devices.sim import SimSTEM
    from autoscope.plans import dkl_explore
    from autoscope.storage import make_writer

    if mode not in IDLE_MODES:
        raise InputDataError(f"unknown idle mode {mode!r}; available: {', '.join(IDLE_MODES)}")
    if not (isinstance(dwell, int | float) and dwell > 0):
        raise InputDataError(f"dwell must be > 0 s, got {dwell!r}")
    mic = SimSTEM(shape=(shape, shape), seed=seed, dwell=float(dwell))
    times: list[tuple[float, str]] = []
    decide: list[float] = []
    streams: dict[str, str] = {}

    def collect(name: str, doc: dict[str, Any]) -> None:
        if name == "descriptor":
            streams[doc["uid"]] = doc["name"]
        elif name == "event" and streams.get(doc["descriptor"]) == "primary":
            times.append((doc["time"], doc["data"]["point_phase"]))
        elif name == "event" and doc["data"].get("decision_chosen_id", -1) >= 0:
            decide.append(float(doc["data"]["decision_t_total"]))

    loop = asyncio.new_event_loop()
    engine = RunEngine({}, loop=loop, call_returns_result=False)
    try:
        engine.subscribe(make_writer(catalog, journal=journal))
        engine.subscribe(collect)
        plan = dkl_explore(mic, mic.sample.default_scalarizer, "ei", budget=budget,
                           n_seed=n_seed, patch_size=16, seed=seed,
                           **IDLE_MODES[mode][0])  # fmt: skip
        t0 = time.perf_counter()
        engine(plan)
        wall = time.perf_counter() - t0
    finally:
        loop.call_soon_threadsafe(loop.stop)
        engine._th.join()
        loop.close()
    gaps = [(b - a - dwell, p) for (a, _), (b, p) in zip(times, times[1:], strict=False)]
    idle = [g for g, p in gaps if p == "dkl"]
    return {"idle": idle[1:], "first_idle": idle[0] if idle else float("nan"),
            "decide": decide, "wall": wall}  # fmt: skip


def idle_table(
    dwells: Sequence[float] = (0.05, 0.3, 1.0),
    modes: Sequence[str] = DEFAULT_IDLE_MODES,
    seeds: Sequence[int] = (0, 1),
    *,
    shape: int = 64,
    budget: int = 30,
    n_seed: int = 10,
    log: Any = None,
) -> list[dict[str, Any]]:
    """Measure every (dwell, mode) over ``seeds`` in one process, modes interleaved per seed.

    Runs go to an embedded catalog in a temporary directory through the default writer
    (its journal in that directory too).
    The first model decision of a run (the first fit) is reported apart
    (``first_idle_s``); the statistics pool the later gaps of all seeds.

    Returns
    -------
    list of dict
        One row per (dwell, mode): ``idle_median_s``, ``idle_p95_s``, ``idle_max_s``,
        ``gaps``, ``first_idle_s`` (median over seeds), ``decide_median_s``,
        ``wall_median_s``.
    """
    from autoscope.storage import close_catalog, open_catalog

    bad = [m for m in modes if m not in IDLE_MODES]
    if bad:
        raise InputDataError(f"unknown idle mode(s) {bad}; available: {', '.join(IDLE_MODES)}")
    if not dwells or not modes or not seeds:
        raise InputDataError("the idle table needs at least one dwell, mode and seed")
    if not 1 <= n_seed < budget - 1:
        raise InputDataError(f"need 1 <= n_seed < budget - 1, got {n_seed}, {budget}")
    runs: dict[tuple[float, str], list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as directory:
        catalog = open_catalog(directory)
        try:
            for dwell in dwells:
                for seed in seeds:
                    for mode in modes:
                        r = idle_run(catalog, mode, dwell, shape=shape, budget=budget,
                                     n_seed=n_seed, seed=seed,
                                     journal=os.path.join(directory, "journal"))  # fmt: skip
                        runs.setdefault((dwell, mode), []).append(r)
                        if log is not None:
                            print(_progress(dwell, mode, seed, r), file=log, flush=True)
        finally:
            close_catalog(catalog)
    rows = []
    for (dwell, mode), rs in runs.items():
        idle = np.asarray([g for r in rs for g in r["idle"]], dtype=float)
        decide = [d for r in rs for d in r["decide"]]
        rows.append(
            {
                "dwell_s": float(dwell),
                "mode": mode,
                "seeds": len(rs),
                "gaps": int(idle.size),
                "idle_median_s": float(np.median(idle)) if idle.size else float("nan"),
                "idle_p95_s": float(np.percentile(idle, 95)) if idle.size else float("nan"),
                "idle_max_s": float(idle.max()) if idle.size else float("nan"),
                "first_idle_s": float(np.median([r["first_idle"] for r in rs])),
                "decide_median_s": float(np.median(decide)) if decide else float("nan"),
                "wall_median_s": float(np.median([r["wall"] for r in rs])),
            }
        )
    return rows


def _progress(dwell: float, mode: str, seed: int, r: dict[str, Any]) -> str:
    med = 1e3 * float(np.median(r["idle"])) if r["idle"] else float("nan")
    return (f"  idle dwell {dwell:g} s {mode:12s} seed {seed}: median {med:.1f} ms, "
            f"first decision {1e3 * r['first_idle']:.0f} ms")  # fmt: skip


def idle_markdown(rows: Sequence[dict[str, Any]], shape: int, budget: int) -> list[str]:
    """Return the Markdown lines of the idle-per-point table (:func:`idle_table`'s rows)."""
    lines = [
        f"Instrument idle per point (gap between two spectra minus the dwell): SimSTEM "
        f"{shape}x{shape}, budget {budget}, the embedded catalog through the default writer; "
        "median / p95 / max pool the gaps of all seeds after the first model decision, "
        "which is shown apart (median over seeds).",
        "",
        "| dwell (s) | mode | idle median (ms) | idle p95 (ms) | idle max (ms) | gaps | "
        "first decision idle (ms) | decision `t_total` median (ms) | run wall median (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['dwell_s']:g} | {r['mode']} | {1e3 * r['idle_median_s']:.1f} | "
            f"{1e3 * r['idle_p95_s']:.1f} | {1e3 * r['idle_max_s']:.0f} | {r['gaps']} | "
            f"{1e3 * r['first_idle_s']:.0f} | {1e3 * r['decide_median_s']:.0f} | "
            f"{r['wall_median_s']:.1f} |"
        )
    lines += ["", "Modes:", ""]
    lines += [f"* `{m}`: {IDLE_MODES[m][1]}" for m in dict.fromkeys(r["mode"] for r in rows)]
    return lines
