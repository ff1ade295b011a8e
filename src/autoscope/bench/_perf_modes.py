"""The update modes ``autoscope bench --perf`` compares: model specs and what each one is."""

from __future__ import annotations

import importlib.util
from typing import Any

__all__ = ["ATOMAI_DECISIONS", "ATOMAI_MODE", "MODES", "default_modes"]

#: the reference mode (not a committee spec: atomai's own model, timed only)
ATOMAI_MODE = "atomai"
#: decisions the ``atomai`` mode times per task and seed
ATOMAI_DECISIONS = 3

#: mode name → (model spec, what it is)
MODES: dict[str, tuple[dict[str, Any], str]] = {
    "full": ({"name": "committee", "params": {}}, "retrained at every decision (default)"),
    "fast": (
        {"name": "committee", "params": {"refit_every": 5}},
        "fast update path: conditioned between retrains every 5th decision",
    ),
    "full_sliced": (
        {
            "name": "committee",
            "params": {
                "members": [
                    {"name": "spatial_dkl", "params": {"refit_slice": 30}},
                    {"name": "gp_coords", "params": {"refit_slice": 30}},
                ]
            },
        },
        "retrained at every decision; each re-initialisation trained on a copy, 30 Adam "
        "steps per decision, and swapped in when done",
    ),
    "fast_sliced": (
        {
            "name": "committee",
            "params": {
                "members": [
                    {"name": "spatial_dkl", "params": {"refit_every": 5, "refit_slice": 10}},
                    {"name": "gp_coords", "params": {"refit_every": 5, "refit_slice": 10}},
                ]
            },
        },
        "fast update path, each retrain run 10 Adam steps per decision on a copy "
        "(reinit included) and swapped in when done",
    ),
    "fast_bg": (
        {"name": "committee", "params": {"refit_every": 5, "refit_lag": 2}},
        "fast update path, each retrain run on a copy in the model's trainer thread and "
        "swapped in 2 decisions later (FAST_COMMITTEE)",
    ),
    ATOMAI_MODE: (
        {"name": "atomai.models.dklGPR", "params": {"training_cycles": 200}},
        "reference, timed only: atomai 0.8.1's own dklGPR rebuilt and trained 200 epochs "
        "per decision, EI",
    ),
}


def default_modes() -> list[str]:
    """Return the modes ``--perf`` runs by default: ``atomai`` too where atomai is installed."""
    modes = ["full", "full_sliced", "fast", "fast_sliced", "fast_bg"]
    return modes + ([ATOMAI_MODE] if importlib.util.find_spec("atomai") is not None else [])
