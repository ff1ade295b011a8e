"""The policy registry: names → :class:`Policy` subclasses, JSON specs → policies.

Each policy module registers its classes here when it is imported; a wrapping
policy (:class:`~autoscope.policies.CostAware`) reads it to build the policy it
wraps, so it lives below every policy module and nothing needs a local import.
"""

from __future__ import annotations

from typing import Any

from autoscope._specs import split_spec
from autoscope.errors import InputDataError
from autoscope.policies._base import Policy, bind_params
from autoscope.registry import Registry

__all__ = ["POLICIES", "available", "from_spec", "get", "register"]


def _check(name: str, cls: type[Policy]) -> None:
    if not (isinstance(cls, type) and issubclass(cls, Policy)):
        raise InputDataError(f"policy {name!r}: expected a Policy subclass, got {cls!r}")
    if cls.name != name:
        raise InputDataError(
            f"policy {name!r}: class {cls.__name__} declares name {cls.name!r}, which its specs "
            f"carry; set `name = {name!r}` on the class to register it under that name"
        )


#: Every policy by name (the ``"name"`` of a policy spec).
POLICIES: Registry[type[Policy]] = Registry("policy", _check)


def available() -> list[str]:
    """Return the sorted names of the registered policies."""
    return POLICIES.available()


def register(name: str, cls: type[Policy], *, overwrite: bool = False) -> type[Policy]:
    """Register a :class:`Policy` subclass under ``name`` (its ``name`` attribute).

    The class is stored as given (never modified); its ``name`` must equal
    ``name``, because that is the name its specs carry.

    Returns
    -------
    type
        ``cls`` itself.

    Raises
    ------
    ValueError
        ``name`` taken (without ``overwrite``), ``cls`` not a Policy subclass, or
        ``cls.name`` differs from ``name``.
    """
    return POLICIES.register(name, cls, overwrite=overwrite)


def get(name: str, **params: Any) -> Policy:
    """Return policy ``name`` built with ``params``.

    Raises
    ------
    ValueError
        Unknown name, unknown parameter or bad value.
    """
    cls = POLICIES[name]
    bind_params(cls, params)
    return cls(**params)


def from_spec(spec: Any) -> Policy:
    """Build a policy from a name, a ``{"name", "params"}`` dict, or return a policy as is.

    Raises
    ------
    ValueError
        Malformed spec, unknown name or bad parameters.
    """
    if isinstance(spec, Policy):
        return spec
    name, params = split_spec(spec, "policy")
    return get(name, **params)
