"""The image recommender's default model: a spatial DKL and a GP on the position, as one mixture.

A deep kernel fitted to a few dozen points interpolates them with its embedding and
lets its position terms fade (``docs/model.md`` §3), so where the structure does not
set the property alone it is confident and wrong. A GP on the pixel coordinates reads
only the position. Their equal-weight mixture (:class:`~autoscope.models.Ensemble`
with two different members) searches where the structure says and where the position
says, and its variance grows where they disagree. On 180 SPM seeds it needs a median
20 measurements to reach the true top 1 %, where the spatial DKL alone needs 23
(decision 0010, ``benchmarks/HELDOUT.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from autoscope.errors import InputDataError
from autoscope.models._registry import register
from autoscope.models.ensemble import Ensemble

__all__ = ["FAST_COMMITTEE", "Committee"]

#: The default committee on the fast update path, retrained in the background: between
#: retrains (every 5th fit, or sooner when the data grew 1.5x) both members are only
#: conditioned on the new points (~10 ms at 64 x 64), and each retrain runs on a copy in the
#: member's trainer thread, swapped in 2 fits after it started (14 for the spatial DKL's
#: re-initialisation, every 20th fit), so no decision trains. With
#: ``dkl_explore(..., overlap=True, model=FAST_COMMITTEE)`` a decision hides behind a dwell
#: of 0.3 s (``docs/performance.md``). The default (``"committee"``) is unchanged.
FAST_COMMITTEE: dict[str, Any] = {
    "name": "committee",
    "params": {"refit_every": 5, "refit_lag": 2},
}


class Committee(Ensemble):
    """A mixture of different models; by default the spatial DKL and a GP on the coordinates.

    An :class:`~autoscope.models.Ensemble` given a list of members, under its own name.

    Parameters
    ----------
    members : sequence of (str or dict)
        The members' specs (2–16), ``("spatial_dkl", "gp_coords")`` by default. The first
        member's ``input_kind`` is the committee's; a later member that reads only the
        coordinates (or only the features) gets those columns.
    seed : int
        Seeds every member whose spec has no seed of its own.
    refit_every : int, optional
        The fast update path for every member that does not set it
        (:class:`~autoscope.models.Ensemble`); ``None``: the members' own setting.
    refit_lag : int, optional
        Likewise for the background retrains (:class:`~autoscope.models.GPSurrogate`).

    Examples
    --------
    >>> from autoscope import models
    >>> c = models.get("committee")
    >>> [m["name"] for m in c.spec["params"]["members"]], c.input_kind
    (['spatial_dkl', 'gp_coords'], 'features+coords')
    >>> models.from_spec(c.spec).spec == c.spec
    True
    """

    name = "committee"

    def __init__(
        self,
        *,
        members: Sequence[Any] = ("spatial_dkl", "gp_coords"),
        seed: int = 0,
        refit_every: int | None = None,
        refit_lag: int | None = None,
    ):
        if isinstance(members, str) or not isinstance(members, Sequence):
            raise InputDataError(
                f"committee members must be a list of 2-16 model specs, got {members!r}"
            )
        super().__init__(
            members=list(members), seed=seed, refit_every=refit_every, refit_lag=refit_lag
        )
        self._params = {"members": self._params["members"], "seed": self._params["seed"]}
        for key, value in (("refit_every", refit_every), ("refit_lag", refit_lag)):
            if value is not None:
                self._params[key] = value


register(Committee.name, Committee)
