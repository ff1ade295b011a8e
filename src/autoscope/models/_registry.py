"""The model registry: names → :class:`GPSurrogate` subclasses, JSON specs → models.

Each model module registers its classes here when it is imported (as the
scalarizer modules do); an :class:`~autoscope.models.Ensemble` reads it to build
its members, so it lives below every model module and nothing needs a local import.
The functions are those of a :class:`~autoscope._specs.ClassRegistry` (the policies'
registry is another): ``register(name, cls, *, overwrite=False)`` stores the class
as given, its ``name`` attribute equal to ``name``; ``get(name, **params)`` builds an
unfitted model; ``from_spec(spec)`` builds one from a name or a ``{"name", "params"}``
dict (a model is returned as is); ``available()`` lists the names.
"""

from __future__ import annotations

from autoscope._specs import ClassRegistry
from autoscope.models._base import GPSurrogate

__all__ = ["MODELS", "available", "from_spec", "get", "register"]

#: Every model by name (the ``"name"`` of a model spec).
MODELS: ClassRegistry[GPSurrogate] = ClassRegistry("model", GPSurrogate)

available = MODELS.available
register = MODELS.register
get = MODELS.get
from_spec = MODELS.from_spec
