"""The run record: start-document keys a user's ``md`` may not overwrite.

A plan's start document carries what the run needs to be read back, replayed
and resumed: the ``autoscope`` namespace (specs, keys, instrument, budget, seeds)
and the RunEngine's own ``uid``/``time`` (which ``md`` would collide with inside
``RE()``). Other defaults (``plan_name``, ``hints``, ...) follow bluesky's rule:
the user's ``md`` wins. :func:`check_user_md` refuses a user ``md`` that would replace
any of them, when the plan is built (so a queueserver item fails at ``item_add``).
"""

from __future__ import annotations

import json
from typing import Any

from autoscope._validate import jsonable
from autoscope.errors import InputDataError

__all__ = ["PROTECTED_MD_KEYS", "check_user_md"]

#: start-document keys a user's ``md`` cannot set
PROTECTED_MD_KEYS = ("autoscope", "uid", "time")


def check_user_md(md: Any) -> dict[str, Any]:
    """Return a copy of ``md`` (``{}`` for ``None``) after checking it.

    Raises
    ------
    ValueError
        If ``md`` is not a dict, is not JSON-serialisable, or sets a key of
        :data:`PROTECTED_MD_KEYS`.

    Examples
    --------
    >>> check_user_md({"operator": "ada"})
    {'operator': 'ada'}
    >>> check_user_md({"autoscope": {}})
    Traceback (most recent call last):
    ...
    autoscope.errors.InputDataError: md may not set 'autoscope': ...
    """
    if md is None:
        return {}
    if not isinstance(md, dict):
        raise InputDataError(f"md must be a dict or None, got {type(md).__name__}")
    for key in PROTECTED_MD_KEYS:
        if key in md:
            raise InputDataError(
                f"md may not set {key!r}: the run needs its own (protected keys: "
                f"{', '.join(PROTECTED_MD_KEYS)}); put your metadata under another key"
            )
    try:
        json.dumps(jsonable(md))
    except (TypeError, ValueError) as exc:
        raise InputDataError(f"md must be JSON-serialisable: {exc}") from None
    return dict(md)
