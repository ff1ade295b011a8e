"""Whole Bluesky plans of an autonomous microscopy experiment, one run per experiment.

:func:`dkl_explore` is the deep-kernel-learning loop (:func:`dkl_resume` finishes one
that ended early); :func:`raster_spectra`,
:func:`random_spectra` and :func:`direct_spectra` are baselines stored the same
way; :func:`acquire_structure` takes the structural image alone. Every plan
validates its arguments when it is *built* (a plain function that returns the
generator), so a bad spec fails before anything moves. Their queueserver
annotations (:mod:`autoscope.plans._annotations`: devices by name, registered
names, integer bounds) make bluesky-queueserver refuse a bad item at
``item_add``. Each carries ``_is_plan_ = True``, the mark that
``bluesky.utils.is_plan`` (and so the queueserver) reads for plans that are not
generator functions themselves. Parameters are JSON types or device names.

Modules: :mod:`~autoscope.plans.explore` (``dkl_explore``),
:mod:`~autoscope.plans.loop` (its run: messages around the exploration session),
:mod:`~autoscope.plans.setup` (argument validation and run set-up),
:mod:`~autoscope.plans.baselines`, :mod:`~autoscope.plans.structure`; the plan stubs
are :mod:`autoscope.plan_stubs`.

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

from typing import Any

import numpy as np

from autoscope.plans.baselines import direct_spectra, random_spectra, raster_spectra
from autoscope.plans.explore import dkl_explore
from autoscope.plans.resume import dkl_resume, resumed_by
from autoscope.plans.structure import acquire_structure

__all__ = [
    "acquire_structure",
    "direct_spectra",
    "dkl_explore",
    "dkl_resume",
    "random_spectra",
    "raster_spectra",
    "resumed_by",
]


def _make_recommender(image: np.ndarray, config: dict[str, Any]) -> Any:
    """Build the DKL recommender from the image and its JSON configuration.

    ``dkl_explore`` calls it through this module, so tests can swap it
    (``monkeypatch.setattr(autoscope.plans, "_make_recommender", ...)``).
    """
    from autoscope.recommender import DKLRecommender

    return DKLRecommender(image, **config)
