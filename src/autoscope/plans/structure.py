"""Acquire the structural image alone, as a run of its own."""

# No ``from __future__ import annotations`` here: bluesky-queueserver validates plan parameters
# from the evaluated annotations (string annotations fail its pydantic models).
from typing import Any

import bluesky.preprocessors as bpp
from bluesky.utils import MsgGenerator

from autoscope._run_record import check_user_md
from autoscope.errors import InputDataError
from autoscope.plan_stubs import acquire_image
from autoscope.plans._annotations import annotate
from autoscope.plans.setup import is_plan

__all__ = ["acquire_structure"]


@is_plan
@annotate
def acquire_structure(microscope: Any, *, md: dict | None = None) -> MsgGenerator:
    """Acquire the structural image alone, as a run with one ``structure`` event.

    Parameters
    ----------
    microscope : device
        An instrument with a ``structure`` detector (see :mod:`autoscope.plan_stubs`).
    md : dict, optional
        Extra start-document metadata (wins over the defaults).

    Returns
    -------
    str
        The run uid.

    Raises
    ------
    ValueError
        If ``microscope`` has no ``structure`` detector or ``md`` is not a dict.
    """
    if getattr(microscope, "structure", None) is None:
        raise InputDataError(
            f"microscope {getattr(microscope, 'name', microscope)!r} has no structure"
        )
    md = check_user_md(md)
    _md: dict[str, Any] = {
        "plan_name": "acquire_structure",
        "plan_args": {"microscope": microscope.name},
    }
    _md.update(num_points=1, autoscope={"plan": "acquire_structure"})
    _md.update(md)
    return _structure_plan(microscope, _md)


def _structure_plan(microscope: Any, md: dict) -> MsgGenerator:
    @bpp.stage_decorator([microscope.structure])
    @bpp.run_decorator(md=md)
    def inner() -> MsgGenerator:
        yield from acquire_image(microscope)

    return (yield from inner())
