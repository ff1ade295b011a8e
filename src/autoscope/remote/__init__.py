"""The decision worker on another machine: a recommender behind a ZeroMQ process boundary.

A facility runs the model where the GPU is and the RunEngine where the instrument is:

- :class:`DecisionServer` (``autoscope decide-server --bind tcp://HOST:PORT``) hosts
  recommenders, one session per run;
- :class:`RemoteRecommender` is the recommender a plan uses instead of the local one,
  ``dkl_explore(..., recommender=RemoteRecommender("tcp://gpu-host:5555"))``;
- :mod:`~autoscope.remote.wire` is what crosses the wire (msgpack maps, numpy arrays
  bit for bit, a protocol version both ends check).

See ``docs/deployment.md`` ("The model on another machine").
"""

from __future__ import annotations

from autoscope.remote.client import RemoteRecommender
from autoscope.remote.server import DecisionServer, is_loopback
from autoscope.remote.wire import PROTOCOL

__all__ = ["PROTOCOL", "DecisionServer", "RemoteRecommender", "is_loopback"]
