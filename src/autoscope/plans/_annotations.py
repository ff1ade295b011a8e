"""Queueserver parameter annotations: what bluesky-queueserver checks at ``item_add``.

bluesky-queueserver validates a queue item against the plan's parameter
annotations before the item enters the queue, with no access to the devices
themselves. Plain Python hints cannot say "a device name, converted to the
device" or "an int in 1..256", so each public plan carries a
``parameter_annotation_decorator`` dictionary (bluesky-queueserver's own
format, stored as ``_custom_parameter_annotation_``):

- device parameters (``microscope``, ``steering``) are enums of the top-level
  devices of the worker's namespace: the queueserver refuses an unknown name and
  passes the device object to the plan;
- ``policy``, ``scalarizer``, ``model`` are a registered name (an enum) or a JSON
  spec ``{"name", "params"}`` (a dict, checked when the plan is built);
- integers carry ``min`` / ``max`` bounds (``budget=-3`` or ``patch_size=999``
  never enter the queue);
- ``recommender`` is a decision server's address (a string), checked when the
  plan is built (the server must answer).

The plan itself still checks everything against the instrument when it is built
(e.g. the patch must fit in the image); these bounds are what can be known
without the instrument. Names registered after :mod:`autoscope.plans` is
imported (a user's own scalarizer) are not in the enums: pass them as a spec
(``{"name": "mine", "params": {}}``) or register them before the import.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from autoscope import scalarizers

__all__ = ["MAX_BUDGET", "MAX_PATCH_SIZE", "MODELS", "POLICIES", "annotate", "plan_annotation"]

#: Largest patch side (px) accepted at ``item_add``; the plan checks it against the image.
MAX_PATCH_SIZE = 256
#: Largest budget accepted at ``item_add``; the plan checks it against the candidates.
MAX_BUDGET = 1_000_000
#: ``autoscope.policies.available()`` and ``autoscope.models.available()``, listed here so that
#: importing the plans does not import torch (a test keeps them equal to the registries).
#: (``boosted`` is registered by :mod:`autoscope.steering`, which the profile imports.)
POLICIES = ("boosted", "cost_aware", "ei", "exploit", "logei", "maxvar", "pi", "thompson", "ucb")
MODELS = (
    "committee",
    "dkl",
    "ensemble",
    "gp_coords",
    "pca_gp",
    "spatial_dkl",
    "static_dkl",
    "vae_gp",
)
#: Top-level devices of the worker namespace (``microscope``, ``steer``, a user's own).
_TOP_LEVEL = [":^[A-Za-z][A-Za-z0-9_]*$"]

_DEVICE = {
    "microscope": {
        "description": "The instrument, by device name.",
        "annotation": "Instruments",
        "devices": {"Instruments": _TOP_LEVEL},
    },
    "steering": {
        "description": "A Steering device, by name (optional).",
        "annotation": "typing.Optional[SteeringDevices]",
        "devices": {"SteeringDevices": _TOP_LEVEL},
    },
}


def _named(kind: str, names: list[str], what: str) -> dict[str, Any]:
    return {
        "description": f"{what}: a registered name or a JSON spec {{'name', 'params'}}.",
        "annotation": f"typing.Union[{kind}, dict]",
        "enums": {kind: sorted(names)},
    }


def _bounded(low: int, high: int | None = None, *, optional: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"annotation": "typing.Optional[int]" if optional else "int"}
    out["min"] = low
    if high is not None:
        out["max"] = high
    return out


def _parameters() -> dict[str, dict[str, Any]]:
    return {
        **_DEVICE,
        "scalarizer": _named("Scalarizers", scalarizers.available(), "Scalarizer"),
        "policy": _named("Policies", list(POLICIES), "Acquisition policy"),
        "model": _named("Models", list(MODELS), "Surrogate model"),
        "calibration": {
            "annotation": "Calibrations",
            "enums": {"Calibrations": ["none", "prequential", "reported"]},
        },
        "detector": {"annotation": "Detectors", "enums": {"Detectors": ["log", "peaks"]}},
        "budget": _bounded(1, MAX_BUDGET),
        "n_seed": _bounded(1, MAX_BUDGET),
        "patch_size": _bounded(1, MAX_PATCH_SIZE),
        "seed": _bounded(0, optional=True),
        "stride": _bounded(1, MAX_PATCH_SIZE),
        "map_every": _bounded(0),
        "batch_size": _bounded(1, MAX_BUDGET),
        "min_distance": _bounded(1),
        "recommender": {
            "description": "Decision server address 'tcp://host:port' (omit: the model runs here).",
            "annotation": "typing.Optional[str]",
        },
    }


def plan_annotation(func: Callable[..., Any]) -> dict[str, Any]:
    """Return the queueserver annotation of the parameters ``func`` has.

    ``raster_spectra``'s ``stride`` may be ``None`` (an even spacing), so its
    annotation is optional there.
    """
    import inspect

    names = inspect.signature(func).parameters
    params = {k: copy.deepcopy(v) for k, v in _parameters().items() if k in names}
    if "stride" in params and names["stride"].default is None:
        params["stride"]["annotation"] = "typing.Optional[int]"
    return {"parameters": params}


def annotate(func: Callable[..., Any]) -> Callable[..., Any]:
    """Attach :func:`plan_annotation` to ``func`` as bluesky-queueserver's decorator would.

    Uses ``bluesky_queueserver.parameter_annotation_decorator`` (which checks the
    dictionary against its schema and the signature) when the ``qserver`` extra is
    installed; otherwise stores the same attribute, so the plans import without it.
    """
    annotation = plan_annotation(func)
    try:
        from bluesky_queueserver import parameter_annotation_decorator
    except ImportError:  # the qserver extra is optional
        func._custom_parameter_annotation_ = annotation  # type: ignore[attr-defined]
        return func
    return parameter_annotation_decorator(annotation)(func)
