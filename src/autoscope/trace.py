"""The experiment trace: one stored autoscope run, read back from Tiled as plain arrays.

:func:`load` turns a run written by :mod:`autoscope.plans` (through a
``TiledWriter``) into an :class:`ExperimentTrace`: the structural image, the
candidate pixels, every measured spectrum and its scalar in order, every
decision, the model maps, and the specs of the start document. It reads the
run through the Tiled client alone (an embedded catalog or a server over
HTTP), a few requests per stream, and never imports the devices.

Examples
--------
>>> from autoscope import trace  # doctest: +SKIP
>>> tr = trace.load(uid, catalog="/tmp/my-catalog")  # doctest: +SKIP
>>> tr.spectra.shape, tr.values.shape, len(tr.decisions)  # doctest: +SKIP
((80, 256), (80,), 71)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from autoscope._stored_run import (
    find_key,
    plain_item,
    read_stream,
    resolve_run,
    spectrometer_axis,
    steering_rows,
)
from autoscope.errors import InputDataError

__all__ = ["ExperimentTrace", "load", "read_stream"]

#: decision fields kept in :attr:`ExperimentTrace.decisions` (maps go to ``maps``)
_MAPS = {"mean_map": "mean", "std_map": "std", "acquisition_map": "acquisition"}


@dataclass
class ExperimentTrace:
    """Everything one autonomous experiment stored, as numpy arrays and dicts.

    Attributes
    ----------
    uid : str
        Run start uid.
    image : ndarray, shape (H, W) or (H, W, C)
        The structural image.
    candidates : ndarray, shape (N, 2), int
        Candidate pixels ``(row, col)``; candidate ids index its rows.
    patch_size, stride : int
        Patch geometry, px.
    measured_ids : list of int
        Candidate id of each measurement, in order (length n).
    rows, cols : ndarray, shape (n,), int
        Pixel of each measurement.
    spectra : ndarray, shape (n, L) or (n, K, K)
        Every measured spectrum, in order.
    axis : ndarray, shape (L,)
        Spectral axis (``specs["axis_units"]``).
    values : ndarray, shape (n,)
        Scalarized spectra (NaN where the scalarizer was undefined).
    phases : list of str
        What chose each point (``"seed"``, ``"dkl"``, ``"raster"``, ...).
    steps : ndarray, shape (n,), int
        Measurement index of each spectrum (0..n-1 for a complete run).
    positions : ndarray, shape (n, 2)
        Probe ``(x, y)`` at each measurement, probe units.
    times : ndarray, shape (n,)
        Event time of each measurement, s since the epoch.
    decisions : list of dict
        One dict per ``decisions`` event, in order (``step``, ``chosen_id``,
        ``acq_value``, ``pred_mean``, ``pred_std``, ``train_loss``, ``n_iter``,
        ``model_version``, ``t_*`` timings in s, ``fallback``, ``reason``,
        ``time``); the last one of a finished run has ``chosen_id == -1``.
    maps : dict or None
        ``{"mean", "std", "acquisition"}``: arrays (n_decisions, N), NaN rows
        where the cadence skipped; ``None`` when the run recorded no maps.
    specs : dict
        The start document's ``autoscope`` namespace.
    instrument : dict
        ``specs["instrument"]`` (the instrument and sample description).
    recommender_config : dict
        The full configuration of the recommender as built (``rec.config``,
        defaults filled in), from the ``structure`` stream; ``{}`` for baselines.
    interventions : list of dict
        Applied interventions (:mod:`autoscope.steering`), in order: ``seq``,
        ``step`` (the boundary: index of the next measurement), ``who``,
        ``kind``, ``params``, ``old``, ``new`` (decoded JSON), ``requested``
        and ``time`` (s since the epoch); empty for an unsteered run.
    votes : list of dict
        BOARS votes (stream ``votes``): ``step``, ``candidate_id``, ``row``,
        ``col``, ``vote`` (0, 1, 2; -1 no vote), ``human_weight``, ``weight``,
        ``who``, ``target`` (list, NaN before the first good vote), ``time``.
    start, stop : dict
        The run's start and stop documents. ``stop`` is ``None`` for a run that
        is still running or whose process died before it ended (a partial run,
        e.g. put into the catalog by ``autoscope recover``): see :attr:`complete`.
    faults : list of str
        Per measurement, why it failed (``"empty"``, ``"short"``, ``"long"``,
        ``"nonfinite"``, ``"zero"``, ``"move"``) or ``""``; all ``""`` for runs
        recorded before faults were flagged.
    """

    uid: str
    image: np.ndarray
    candidates: np.ndarray
    patch_size: int
    stride: int
    measured_ids: list[int]
    rows: np.ndarray
    cols: np.ndarray
    spectra: np.ndarray
    axis: np.ndarray
    values: np.ndarray
    phases: list[str]
    steps: np.ndarray
    positions: np.ndarray
    times: np.ndarray
    decisions: list[dict[str, Any]]
    maps: dict[str, np.ndarray] | None
    specs: dict[str, Any]
    instrument: dict[str, Any]
    recommender_config: dict[str, Any] = field(default_factory=dict)
    interventions: list[dict[str, Any]] = field(default_factory=list)
    votes: list[dict[str, Any]] = field(default_factory=list)
    start: dict[str, Any] = field(default_factory=dict)
    stop: dict[str, Any] | None = None
    faults: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Whether the run has its stop document (``False``: partial, it did not end)."""
        return self.stop is not None

    @property
    def exit_status(self) -> str:
        """The stop document's ``exit_status``; ``"incomplete"`` without a stop document."""
        return str(self.stop.get("exit_status", "")) if self.stop is not None else "incomplete"

    @property
    def failed_ids(self) -> list[int]:
        """Candidate ids of the measurements flagged as failed (see :attr:`faults`)."""
        return [i for i, f in zip(self.measured_ids, self.faults, strict=False) if f]

    @property
    def n_measured(self) -> int:
        """Number of measured spectra."""
        return len(self.measured_ids)

    @property
    def chosen_ids(self) -> list[int]:
        """Candidate id chosen at each model decision (the final ``-1`` record excluded)."""
        return [int(d["chosen_id"]) for d in self.decisions if int(d["chosen_id"]) >= 0]

    def patches(self, normalize: str | None = "image") -> np.ndarray:
        """Return the patch around every candidate, shape (N, p, p) or (N, p, p, C).

        See :func:`autoscope.features.extract_patches` for ``normalize``.
        """
        from autoscope.features import extract_patches

        patches, centres = extract_patches(
            self.image, self.patch_size, self.stride, normalize=normalize
        )
        if not np.array_equal(centres, self.candidates):
            raise InputDataError("stored candidates do not match the patch geometry")
        return patches

    def sample(self) -> Any:
        """Rebuild the simulated sample from ``instrument["sample"]``; ``None`` if not simulated."""
        desc = (self.instrument or {}).get("sample") or {}
        kind, params = desc.get("kind"), dict(desc.get("params") or {})
        shape = tuple(desc.get("shape") or ())
        seed = desc.get("seed")
        if kind in ("stem", "spm", "fourd", "tiny"):
            from autoscope.sim import make_sample

            return make_sample(kind, shape=shape, seed=cast(int, seed), **params)
        return None


def load(run_or_uid: Any, catalog: Any = None) -> ExperimentTrace:
    """Read a stored autoscope run into an :class:`ExperimentTrace`.

    Parameters
    ----------
    run_or_uid : run client, str or int
        A Tiled ``BlueskyRun`` client, a run start uid, or a negative index
        (``-1``: the most recent run of the catalog).
    catalog : tiled client, str or path, optional
        Where to look a uid up: a client, an embedded catalog directory or an
        ``http(s)://`` server URI (:func:`autoscope.storage.open_catalog`);
        the default embedded catalog when omitted.

    Returns
    -------
    ExperimentTrace

    Raises
    ------
    ValueError
        Unknown uid, bad index, or a run with no ``structure`` stream.

    Notes
    -----
    A run without a stop document (its process died; see ``autoscope recover``)
    loads with what it stored: ``trace.complete`` is ``False`` and
    ``trace.exit_status`` is ``"incomplete"``.
    """
    if hasattr(run_or_uid, "metadata") and hasattr(run_or_uid, "base"):
        return _load(run_or_uid)
    if catalog is not None and not isinstance(catalog, str | os.PathLike):
        return _load(resolve_run(run_or_uid, catalog))
    from autoscope.storage import close_catalog, open_catalog

    # ours, closed once everything is read; a reader never creates a catalog
    client = open_catalog(catalog, create=False)
    try:
        return _load(resolve_run(run_or_uid, client))
    finally:
        close_catalog(client)


def _load(run: Any) -> ExperimentTrace:
    start = dict(run.metadata["start"])
    stop = run.metadata.get("stop")
    specs = dict(start.get("autoscope") or {})
    keys = specs.get("keys") or {}

    structure = read_stream(run, "structure")
    if not structure:
        why = (
            "not an autoscope run"
            if stop is not None
            else "it has no stop document either: it ended before its image was stored"
        )
        raise InputDataError(f"run {start['uid']} has no 'structure' stream: {why}")
    image = find_key(structure, keys.get("image"), "_image")
    if image is None:
        raise InputDataError(
            f"run {start['uid']} has no structural image in its 'structure' stream"
        )
    candidates = find_key(structure, None, "geometry_candidates")
    patch = find_key(structure, None, "geometry_patch_size")
    stride = find_key(structure, None, "geometry_stride")
    rec_config = find_key(structure, None, "geometry_recommender_config")

    prim = read_stream(run, "primary")
    n = len(prim.get("seq_num", ()))
    spectra = find_key(prim, keys.get("spectrum"), "_spectrum")
    if spectra is None:
        spectra = np.empty((n, *(specs.get("spectrum_shape") or ())))
    px = find_key(prim, keys.get("probe_x"), "_probe_x")
    py = find_key(prim, keys.get("probe_y"), "_probe_y")

    def col(key: str, dtype: Any, fill: Any = 0) -> np.ndarray:
        return np.asarray(prim.get(key, np.full(n, fill)), dtype=dtype)

    dec = read_stream(run, "decisions")
    fields = [k for k in dec if k.startswith("decision_") and k[9:] not in _MAPS]
    decisions = [
        {k[9:]: plain_item(dec[k][i]) for k in fields} | {"time": float(dec["time"][i])}
        for i in range(len(dec.get("seq_num", ())))
    ]
    maps = None
    if decisions and all(f"decision_{k}" in dec for k in _MAPS):
        maps = {v: np.asarray(dec[f"decision_{k}"], dtype=float) for k, v in _MAPS.items()}

    interventions = steering_rows(read_stream(run, "interventions"), "intervention_")
    votes = steering_rows(read_stream(run, "votes"), "vote_")
    nan = np.full(n, np.nan)
    return ExperimentTrace(
        uid=start["uid"],
        image=np.asarray(image[0], dtype=float),
        candidates=np.asarray(candidates[0] if candidates is not None else [], np.int64).reshape(
            -1, 2
        ),
        patch_size=int(patch[0]) if patch is not None else int(specs.get("patch_size", 0)),
        stride=int(stride[0]) if stride is not None else int(specs.get("stride", 1)),
        measured_ids=[int(i) for i in col("point_candidate_id", np.int64, -1)],
        rows=col("point_row", np.int64),
        cols=col("point_col", np.int64),
        spectra=np.asarray(spectra, dtype=float),
        axis=np.asarray(specs["axis"] if "axis" in specs else spectrometer_axis(run), dtype=float),
        values=col("point_value", float, np.nan),
        phases=[str(p) for p in prim.get("point_phase", [""] * n)],
        steps=col("point_step", np.int64),
        positions=np.column_stack([nan if px is None else px, nan if py is None else py]).astype(
            float
        ),
        times=col("time", float, np.nan),
        decisions=decisions,
        maps=maps,
        specs=specs,
        instrument=dict(specs.get("instrument") or {}),
        recommender_config=json.loads(str(rec_config[0])) if rec_config is not None else {},
        interventions=interventions,
        votes=votes,
        start=start,
        stop=dict(stop) if stop is not None else None,
        faults=[str(f) for f in prim.get("point_fault", [""] * n)],
    )
