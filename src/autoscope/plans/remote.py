"""A plan's model on a decision server: checked when the plan is built, one session per run.

:func:`decision_server` turns ``dkl_explore(recommender=...)`` into a connected
:class:`~autoscope.remote.RemoteRecommender` (or ``None`` for the local model) and
refuses an unreachable server or another protocol before anything moves;
:func:`remote_sessions` gives the plan's ``make_recommender`` seam a session per run and
closes it when the run ends, however it ends.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import numpy as np

from autoscope.errors import InputDataError
from autoscope.plans.setup import _spec

__all__ = ["decision_server", "model_spec_of", "remote_sessions"]


def decision_server(recommender: Any) -> Any:
    """Return a :class:`~autoscope.remote.RemoteRecommender` that answered, or ``None``.

    Parameters
    ----------
    recommender : RemoteRecommender, str or None
        A client, or the server's address (``"tcp://host:port"``, what a queueserver
        item carries).

    Raises
    ------
    InputDataError
        Anything else, or a client given its own recommender options.
    DecisionServerError
        The server does not answer within its ``connect_timeout``, or speaks another
        protocol.
    """
    if recommender is None:
        return None
    from autoscope.remote import RemoteRecommender

    if isinstance(recommender, str):
        recommender = RemoteRecommender(recommender)
    if not isinstance(recommender, RemoteRecommender):
        raise InputDataError(
            "recommender must be None (the model runs here), a RemoteRecommender or a decision "
            f"server address 'tcp://host:port', got {type(recommender).__name__}"
        )
    recommender.check_for_plan()
    recommender.hello()
    return recommender


def model_spec_of(model: Any) -> dict[str, Any]:
    """Normalise a model name or spec to ``{"name", "params"}`` without building the model."""
    return _spec("model", model)


def remote_sessions(
    remote: Any,
) -> tuple[Callable[[np.ndarray, dict[str, Any]], Any], Callable[[], Generator[Any, Any, None]]]:
    """Return ``(make_recommender, close_plan)`` for a run whose model is on ``remote``.

    ``make_recommender(image, config)`` opens the run's session
    (:meth:`~autoscope.remote.RemoteRecommender.bind`); ``close_plan()`` is a plan with
    no messages that ends it (for :func:`bluesky.preprocessors.finalize_wrapper`).
    """
    opened: list[Any] = []

    def make(image: np.ndarray, config: dict[str, Any]) -> Any:
        rec = remote.bind(image, config)
        opened.append(rec)
        return rec

    def close() -> Generator[Any, Any, None]:
        while opened:
            opened.pop().close()
        remote.close()
        yield from ()

    return make, close
