"""The policy registry: names → :class:`Policy` subclasses, JSON specs → policies.

Each policy module registers its classes here when it is imported; a wrapping
policy (:class:`~autoscope.policies.CostAware`) reads it to build the policy it
wraps, so it lives below every policy module and nothing needs a local import.
The functions are those of a :class:`~autoscope._specs.ClassRegistry` (the models'
registry is another): ``register(name, cls, *, overwrite=False)`` stores the class
as given, its ``name`` attribute equal to ``name``; ``get(name, **params)`` checks
the parameters against the class's signature (:func:`bind_params`) and builds the
policy; ``from_spec(spec)`` builds one from a name or a ``{"name", "params"}`` dict
(a policy is returned as is); ``available()`` lists the names.
"""

from __future__ import annotations

from autoscope._specs import ClassRegistry
from autoscope.policies._base import Policy, bind_params

__all__ = ["POLICIES", "available", "from_spec", "get", "register"]

#: Every policy by name (the ``"name"`` of a policy spec).
POLICIES: ClassRegistry[Policy] = ClassRegistry("policy", Policy, bind_params)

available = POLICIES.available
register = POLICIES.register
get = POLICIES.get
from_spec = POLICIES.from_spec
