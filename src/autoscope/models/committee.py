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

#: The default committee on the fast update path, its retrains sliced: between retrains
#: (every 5th fit, or sooner when the data grew 1.5x) both members are only conditioned on
#: the new points, and each retrain runs 10 Adam steps per decision on a copy that is
#: swapped in when done, so no decision carries a whole retrain. With
#: ``dkl_explore(..., overlap=True, model=FAST_COMMITTEE)`` a decision (~10 ms of CPU
#: when conditioned, ~0.1 s while a retrain advances, 64 x 64) hides behind a dwell of
#: 0.3 s (``docs/performance.md``). The default (``"committee"``) is unchanged.
FAST_COMMITTEE: dict[str, Any] = {
    "name": "committee",
    "params": {
        "members": [
            {"name": "spatial_dkl", "params": {"refit_every": 5, "refit_slice": 10}},
            {"name": "gp_coords", "params": {"refit_every": 5, "refit_slice": 10}},
        ]
    },
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
    ):
        if isinstance(members, str) or not isinstance(members, Sequence):
            raise InputDataError(
                f"committee members must be a list of 2-16 model specs, got {members!r}"
            )
        super().__init__(members=list(members), seed=seed, refit_every=refit_every)
        self._params = {"members": self._params["members"], "seed": self._params["seed"]}
        if refit_every is not None:
            self._params["refit_every"] = refit_every


register(Committee.name, Committee)
