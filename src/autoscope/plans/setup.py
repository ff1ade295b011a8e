"""Plan set-up: validate a plan's arguments and derive what its run needs, before any message.

Private helpers of :mod:`autoscope.plans`: :func:`prepare` checks the instrument,
scalarizer, budget, patch geometry, seed and metadata and returns a
:class:`PlanSetup`; the rest turn JSON arguments into candidate ids (seed points,
raster order, objects found in the structural image) and a recommender's
``last_decision`` into decision-stream fields.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from autoscope import __version__, scalarizers
from autoscope._run_record import check_user_md
from autoscope._validate import check_int, jsonable
from autoscope.errors import InputDataError
from autoscope.features import candidate_grid
from autoscope.plan_stubs import array_key

__all__ = [
    "PlanSetup",
    "check_int",
    "check_microscope",
    "is_plan",
    "jsonable",
    "model_spec",
    "policy_spec",
    "prepare",
    "spectrometer_setup",
]


def _spec(kind: str, spec: Any) -> dict[str, Any]:
    if isinstance(spec, str) and spec:
        return {"name": spec, "params": {}}
    if (
        isinstance(spec, Mapping)
        and isinstance(spec.get("name"), str)
        and set(spec) <= {"name", "params"}
    ):
        params = spec.get("params") or {}
        if not isinstance(params, Mapping):
            raise InputDataError(f"{kind} spec 'params' must be a dict, got {params!r}")
        return {"name": spec["name"], "params": jsonable(dict(params))}
    raise InputDataError(
        f"a {kind} is a name or a {{'name': str, 'params': dict}} spec, got {spec!r}"
    )


def policy_spec(policy: Any) -> dict[str, Any]:
    """Validate a policy name/spec with :func:`autoscope.policies.from_spec`; return its spec."""
    from autoscope import policies

    spec = _spec("policy", policy)
    built = policies.from_spec(spec)
    return jsonable(getattr(built, "spec", spec))


def model_spec(model: Any) -> dict[str, Any]:
    """Validate a model name/spec with :func:`autoscope.models.from_spec`; return it normalised.

    Defaults are not filled in: the recommender gives a model without a
    ``seed`` parameter the run's seed.
    """
    from autoscope import models

    spec = _spec("model", model)
    models.from_spec(spec)  # validate only: unset params (seed) stay the recommender's
    return spec


def check_microscope(microscope: Any) -> None:
    """Raise :class:`ValueError` unless ``microscope`` has the parts plans need."""
    missing = [
        path
        for path in ("probe.x", "probe.y", "structure", "spectrometer", "pixel_to_position")
        if _getpath(microscope, path) is None
    ]
    if missing:
        raise InputDataError(
            f"microscope must have probe.x, probe.y, structure, spectrometer and "
            f"pixel_to_position(row, col); {getattr(microscope, 'name', microscope)!r} lacks "
            f"{', '.join(missing)}"
        )


def _getpath(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def spectrometer_setup(microscope: Any) -> dict[str, Any]:
    """Describe the spectrometer: reading key, spectrum shape, axis and axis units.

    Returns
    -------
    dict
        ``{"key": str, "shape": tuple, "axis": ndarray (L,), "axis_units": str}``.

    Raises
    ------
    ValueError
        If no ``*_axis`` configuration field is found.
    """
    det = microscope.spectrometer
    key, shape = array_key(det)
    config = det.read_configuration()
    axis_keys = [k for k in config if k.endswith("_axis")]
    if len(axis_keys) != 1:
        raise InputDataError(
            f"{det.name}: expected one '*_axis' configuration field, got {sorted(config)}"
        )
    axis = np.asarray(config[axis_keys[0]]["value"], dtype=float)
    units = [v["value"] for k, v in config.items() if k.endswith("_axis_units")]
    return {"key": key, "shape": shape, "axis": axis, "axis_units": str(units[0]) if units else ""}


@dataclass
class PlanSetup:
    """Everything a plan derived from its arguments at build time.

    Attributes
    ----------
    microscope : device
    scalarizer : Scalarizer
    axis : ndarray, shape (L,)
    spectrum_key, image_key : str
        Reading keys of the spectrum and of the structural image.
    image_shape : tuple
        (H, W) or (H, W, C).
    candidates : ndarray, shape (N, 2)
        Candidate pixels ``(row, col)`` (:func:`autoscope.features.candidate_grid`).
    patch_size, stride, budget, seed : int
    pixel_size : float
        Probe units per pixel.
    rng : numpy.random.Generator
        For the plan's own random choices (fallbacks, random baselines).
    plan_args, ns : dict
        ``plan_args`` and the ``autoscope`` namespace of the start document.
    user_md : dict
    """

    microscope: Any
    scalarizer: Any
    axis: np.ndarray
    spectrum_key: str
    image_key: str
    image_shape: tuple[int, ...]
    candidates: np.ndarray
    patch_size: int
    stride: int
    pixel_size: float
    budget: int
    seed: int
    rng: np.random.Generator
    plan_name: str
    plan_args: dict[str, Any] = field(default_factory=dict)
    ns: dict[str, Any] = field(default_factory=dict)
    user_md: dict[str, Any] = field(default_factory=dict)

    def scalarize(self, spectrum: np.ndarray) -> float:
        """Return the run's scalar of one spectrum (axis bound)."""
        return self.scalarizer(spectrum, self.axis)

    def metadata(self) -> dict[str, Any]:
        """Return the start-document metadata: defaults, then the user's ``md`` on top."""
        md = {
            "plan_name": self.plan_name,
            "plan_args": jsonable(self.plan_args),
            "hints": {"dimensions": [[["point_step"], "primary"]]},
            "num_points": self.budget,
            "autoscope": jsonable(self.ns),
        }
        md.update(self.user_md)
        return md

    def geometry(self, device: Any, recommender_config: Any = None) -> list[Any]:
        """Set a :class:`~autoscope.plan_stubs.Geometry` device's signals; return ``[device]``."""
        device.patch_size.put(self.patch_size)
        device.stride.put(self.stride)
        device.pixel_size.put(self.pixel_size)
        device.candidates.put(self.candidates)
        device.recommender_config.put(json.dumps(jsonable(recommender_config or {})))
        return [device]


def prepare(
    microscope: Any,
    scalarizer: Any,
    budget: Any,
    patch_size: Any,
    stride: Any,
    seed: Any,
    md: Any,
    plan_name: str,
) -> PlanSetup:
    """Validate the arguments every experiment plan shares and derive the run's set-up.

    Raises
    ------
    ValueError
        A device without the needed parts, an unknown or ill-fitting scalarizer,
        a bad budget / patch size / stride / seed, ``md`` not a JSON dict or
        setting a key the run needs (``autoscope``, ``uid``, ...).
    """
    check_microscope(microscope)
    sc = scalarizers.from_spec(scalarizer)
    spec = spectrometer_setup(microscope)
    sc.validate(spec["axis"], spec["shape"])
    image_key, image_shape = array_key(microscope.structure)
    if len(image_shape) not in (2, 3):
        raise InputDataError(
            f"structural image must be (H, W) or (H, W, C), got shape {image_shape}"
        )
    candidates = candidate_grid((image_shape[0], image_shape[1]), patch_size, stride)
    budget = check_int("budget", budget, 1, len(candidates))
    if seed is None:
        seed = int(cast(int, np.random.SeedSequence().entropy) % 2**32)
    seed = check_int("seed", seed, 0)
    md = check_user_md(md)  # a dict that sets no key the run needs
    describe = getattr(microscope, "describe_instrument", None)
    instrument = jsonable(describe()) if callable(describe) else {"name": microscope.name}
    s = PlanSetup(
        microscope=microscope,
        scalarizer=sc,
        axis=spec["axis"],
        spectrum_key=spec["key"],
        image_key=image_key,
        image_shape=image_shape,
        candidates=candidates,
        patch_size=int(patch_size),
        stride=int(stride),
        pixel_size=_pixel_size(microscope),
        budget=budget,
        seed=seed,
        rng=np.random.default_rng([seed, 1]),
        plan_name=plan_name,
        user_md=dict(md or {}),
    )
    s.plan_args = {
        "microscope": microscope.name,
        "scalarizer": sc.spec,
        "budget": budget,
        "patch_size": s.patch_size,
        "stride": s.stride,
        "seed": seed,
    }
    s.ns = {
        "version": __version__,
        "plan": plan_name,
        "scalarizer": sc.spec,
        "seed": seed,
        "budget": budget,
        "patch_size": s.patch_size,
        "stride": s.stride,
        "pixel_size": s.pixel_size,
        "candidates_shape": list(candidates.shape),
        "image_shape": list(image_shape),
        "spectrum_shape": list(spec["shape"]),
        "axis": spec["axis"],
        "axis_units": spec["axis_units"],
        "keys": {
            "spectrum": spec["key"],
            "image": image_key,
            "probe_x": microscope.probe.x.name,
            "probe_y": microscope.probe.y.name,
        },
        "instrument": instrument,
    }
    return s


def _pixel_size(microscope: Any) -> float:
    for k, v in microscope.structure.read_configuration().items():
        if k.endswith("_pixel_size"):
            return float(v["value"])
    return 1.0


def is_plan(func: Any) -> Any:
    """Mark a validate-then-return-generator function as a plan for ``bluesky.utils.is_plan``.

    ``bluesky.utils.plan`` would do the same but wraps the call in ``Plan``, whose
    ``__del__`` fails when the function raises while it is built (bluesky 1.15), which is
    exactly how these plans reject bad arguments.
    """
    func._is_plan_ = True
    return func
