"""Soft devices: values no instrument measures, published as ordinary event data.

Row, column, candidate id and scalar value of a measured point (:class:`PointInfo`,
stream ``primary``), the candidate geometry (:class:`Geometry`, stream ``structure``)
and what a decision knew and chose (:class:`Decision`, :class:`DecisionWithMaps`,
stream ``decisions``). Their reading keys are the device name plus the field
(``point_value``, ``decision_chosen_id``, ``geometry_candidates``, ...). The plan
stubs (:mod:`autoscope.plan_stubs`, which re-exports them) set and read them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ophyd import Component as Cpt
from ophyd import Device, Signal

from autoscope.errors import InputDataError

__all__ = ["Decision", "DecisionWithMaps", "Geometry", "PointInfo"]

_NAN = float("nan")


class PointInfo(Device):
    """Soft signals published with every spectrum (stream ``primary``).

    Keys (device named ``point``): ``point_row``, ``point_col`` (pixel indices),
    ``point_candidate_id`` (index into the candidates), ``point_value`` (the
    scalarized spectrum, NaN when undefined), ``point_step`` (0-based measurement
    index) and ``point_phase`` (``"seed"``, ``"dkl"``, ``"raster"``, ...).
    """

    row = Cpt(Signal, value=0, kind="normal")
    col = Cpt(Signal, value=0, kind="normal")
    candidate_id = Cpt(Signal, value=-1, kind="normal")
    value = Cpt(Signal, value=_NAN, kind="hinted")
    step = Cpt(Signal, value=0, kind="hinted")
    phase = Cpt(Signal, value="seed", kind="normal")
    fault = Cpt(Signal, value="", kind="normal")
    raw_length = Cpt(Signal, value=0, kind="normal")


class Geometry(Device):
    """Candidate geometry published with the structural image (stream ``structure``).

    Keys (device named ``geometry``): ``geometry_patch_size``, ``geometry_stride``
    (pixels), ``geometry_pixel_size`` (probe units per pixel), ``geometry_candidates``
    (N, 2) int pixel ``(row, col)`` of the candidates, and
    ``geometry_recommender_config`` (a JSON string, ``"{}"`` when none).
    """

    patch_size = Cpt(Signal, value=0, kind="normal")
    stride = Cpt(Signal, value=1, kind="normal")
    pixel_size = Cpt(Signal, value=1.0, kind="normal")
    candidates = Cpt(Signal, value=np.zeros((1, 2), dtype=np.int64), kind="normal")
    recommender_config = Cpt(Signal, value="{}", kind="normal")


class Decision(Device):
    """Soft signals of one decision (stream ``decisions``).

    Keys (device named ``decision``): ``step`` (the measurement index the
    chosen point gets), ``chosen_id`` (-1 for the final record), ``acq_value``,
    ``pred_mean``, ``pred_std`` (at the chosen point), ``train_loss``, ``n_iter``,
    ``model_version``, timings ``t_ingest``, ``t_train``, ``t_predict``,
    ``t_acquire``, ``t_total`` (s), ``variance_factor`` (the recommender's
    calibration factor of the reported variance, 1 when off), ``structure_share`` (a spatial
    model's fitted share of the prior variance carried by the structure),
    ``fallback`` (1 when the choice did not come from the model: fitting error,
    repeated point) and ``reason`` (why; for the final record, why the run
    stopped). What the model knew: ``batch`` (the decision's index; the points of
    one batch share it), ``n_known`` (how many measurements, in order, it had
    ingested) and ``pending_ids`` (the ids measured or being measured but not yet
    ingested, comma-separated; ``""`` in a plain run). How the model was updated:
    ``update`` (``"train"`` or ``"condition"``, the fast update path; one per committee
    member, joined with ``+``; ``""`` when unknown) and ``update_trigger`` (why a fast-path
    model retrained: ``"schedule"``, ``"growth"``, ...). Unknown numbers are NaN.
    """

    step = Cpt(Signal, value=0, kind="hinted")
    chosen_id = Cpt(Signal, value=-1, kind="hinted")
    acq_value = Cpt(Signal, value=_NAN, kind="normal")
    pred_mean = Cpt(Signal, value=_NAN, kind="normal")
    pred_std = Cpt(Signal, value=_NAN, kind="normal")
    train_loss = Cpt(Signal, value=_NAN, kind="normal")
    n_iter = Cpt(Signal, value=0, kind="normal")
    model_version = Cpt(Signal, value=0, kind="normal")
    t_ingest = Cpt(Signal, value=_NAN, kind="normal")
    t_train = Cpt(Signal, value=_NAN, kind="normal")
    t_predict = Cpt(Signal, value=_NAN, kind="normal")
    t_acquire = Cpt(Signal, value=_NAN, kind="normal")
    t_total = Cpt(Signal, value=_NAN, kind="normal")
    variance_factor = Cpt(Signal, value=_NAN, kind="normal")
    structure_share = Cpt(Signal, value=_NAN, kind="normal")
    fallback = Cpt(Signal, value=0, kind="normal")
    reason = Cpt(Signal, value="", kind="normal")
    batch = Cpt(Signal, value=0, kind="normal")
    n_known = Cpt(Signal, value=0, kind="normal")
    pending_ids = Cpt(Signal, value="", kind="normal")
    update = Cpt(Signal, value="", kind="normal")
    update_trigger = Cpt(Signal, value="", kind="normal")

    #: fields that are floats (NaN when missing); the rest are ints or strings
    float_fields = (
        "acq_value",
        "pred_mean",
        "pred_std",
        "train_loss",
        "t_ingest",
        "t_train",
        "t_predict",
        "t_acquire",
        "t_total",
        "variance_factor",
        "structure_share",
    )
    int_fields = ("step", "chosen_id", "n_iter", "model_version", "fallback", "batch", "n_known")
    str_fields = ("reason", "pending_ids", "update", "update_trigger")
    map_fields: tuple[str, ...] = ()

    def publish(self, n_candidates: int = 0, **fields: Any) -> None:
        """Set every field: given values, NaN / 0 / ``""`` / NaN maps for the others.

        Raises
        ------
        ValueError
            For a field this device does not have, or a map of the wrong length.
        """
        unknown = set(fields) - set(self.component_names)
        if unknown:
            raise InputDataError(f"unknown decision field(s) {sorted(unknown)}")
        for name in self.float_fields:
            v = fields.get(name)
            getattr(self, name).put(_NAN if v is None else float(v))
        for name in self.int_fields:
            v = fields.get(name)
            getattr(self, name).put(int(v) if v is not None else (-1 if name == "chosen_id" else 0))
        for name in self.str_fields:
            getattr(self, name).put(str(fields.get(name) or ""))
        for name in self.map_fields:
            v = fields.get(name)
            arr = np.full(n_candidates, _NAN) if v is None else np.asarray(v, dtype=float)
            if arr.shape != (n_candidates,):
                raise InputDataError(f"{name} must have shape ({n_candidates},), got {arr.shape}")
            getattr(self, name).put(arr)


class DecisionWithMaps(Decision):
    """A :class:`Decision` plus the maps over all N candidates.

    Extra keys: ``decision_mean_map``, ``decision_std_map``,
    ``decision_acquisition_map``, each shape (N,), NaN-filled on the steps the
    plan's ``map_every`` cadence skips, so the shape stays constant.
    """

    mean_map = Cpt(Signal, value=np.zeros(1), kind="normal")
    std_map = Cpt(Signal, value=np.zeros(1), kind="normal")
    acquisition_map = Cpt(Signal, value=np.zeros(1), kind="normal")
    map_fields = ("mean_map", "std_map", "acquisition_map")
