"""Surrogate models: deep kernel learning and the baselines it is compared with.

Every model maps candidate inputs through a feature map to an exact GP and has the
same interface: ``fit(X, y) -> report``, ``predict(X) -> (mean, var)``,
``posterior(X)`` (adds cross-covariances and joint samples), ``embed(X)``,
``prepare(X_all)`` and a JSON ``spec``. Models are named and parameterised by a
spec ``{"name": ..., "params": {...}}`` so that recommender configurations are JSON:

===============  =====================================================  ===============
name             model                                                  input
===============  =====================================================  ===============
``dkl``          :class:`DKL`, CNN/MLP embedding + GP, trained jointly  features
``spatial_dkl``  :class:`SpatialDKL`, DKL kernel + kernel on position    features+coords
``static_dkl``   :class:`StaticDKL`, DKL trained on the seed points     features
``pca_gp``       :class:`PCAGP`, GP on principal components             features
``vae_gp``       :class:`VAEGP`, GP in a VAE latent space               features
``gp_coords``    :class:`GPCoords`, GP on pixel coordinates             coords
``ensemble``     :class:`Ensemble`, K differently seeded copies of a    the base's
                 model (or different models) as one mixture posterior
``committee``    :class:`Committee`, spatial DKL + GP on coordinates    features+coords
                 as one mixture (the image recommender's default)
===============  =====================================================  ===============

Examples
--------
>>> from autoscope import models
>>> m = models.get("pca_gp", n_components=4)
>>> m.spec["name"], m.spec["params"]["n_components"]
('pca_gp', 4)
>>> models.from_spec(m.spec).spec == m.spec
True
"""

from __future__ import annotations

from autoscope.models._base import GPSurrogate
from autoscope.models._gp import CandidatePosterior
from autoscope.models._registry import available, from_spec, get, register
from autoscope.models._training import torch_threads, warm_up
from autoscope.models.baselines import PCAGP, GPCoords, StaticDKL
from autoscope.models.committee import FAST_COMMITTEE, Committee
from autoscope.models.dkl import DKL
from autoscope.models.ensemble import Ensemble, MixturePosterior
from autoscope.models.spatial import SpatialDKL
from autoscope.models.vae import VAEGP

__all__ = [
    "DKL",
    "FAST_COMMITTEE",
    "Committee",
    "Ensemble",
    "MixturePosterior",
    "PCAGP",
    "VAEGP",
    "CandidatePosterior",
    "GPCoords",
    "GPSurrogate",
    "SpatialDKL",
    "StaticDKL",
    "available",
    "from_spec",
    "get",
    "register",
    "torch_threads",
    "warm_up",
]
