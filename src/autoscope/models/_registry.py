"""The model registry: names → :class:`GPSurrogate` subclasses, JSON specs → models.

Each model module registers its classes here when it is imported (as the
scalarizer modules do); an :class:`~autoscope.models.Ensemble` reads it to build
its members, so it lives below every model module and nothing needs a local import.
"""

from __future__ import annotations

from typing import Any

from autoscope._specs import split_spec
from autoscope.errors import InputDataError
from autoscope.models._base import GPSurrogate
from autoscope.registry import Registry

__all__ = ["MODELS", "available", "from_spec", "get", "register"]


def _check(name: str, cls: type[GPSurrogate]) -> None:
    if not (isinstance(cls, type) and issubclass(cls, GPSurrogate)):
        raise InputDataError(f"model {name!r}: expected a GPSurrogate subclass, got {cls!r}")
    if cls.name != name:
        raise InputDataError(
            f"model {name!r}: class {cls.__name__} declares name {cls.name!r}, which its specs "
            f"carry; set `name = {name!r}` on the class to register it under that name"
        )


#: Every model by name (the ``"name"`` of a model spec).
MODELS: Registry[type[GPSurrogate]] = Registry("model", _check)


def available() -> list[str]:
    """Return the sorted names of the registered models."""
    return MODELS.available()


def register(name: str, cls: type[GPSurrogate], *, overwrite: bool = False) -> type[GPSurrogate]:
    """Register a :class:`GPSurrogate` subclass under ``name`` (its ``name`` attribute).

    The class is stored as given; its ``name`` must equal ``name``, because that is
    the name its specs carry and :func:`from_spec` looks up.

    Returns
    -------
    type
        ``cls`` itself.

    Raises
    ------
    ValueError
        ``name`` is taken (without ``overwrite``), ``cls`` is not a GPSurrogate
        subclass, or ``cls.name`` differs from ``name``.
    """
    return MODELS.register(name, cls, overwrite=overwrite)


def get(name: str, **params: Any) -> GPSurrogate:
    """Return a new, unfitted model ``name`` built with ``params``.

    Raises
    ------
    ValueError
        Unknown name, unknown parameter or bad value.
    """
    cls = MODELS[name]
    try:
        return cls(**params)
    except TypeError as exc:
        raise InputDataError(f"model {name!r}: bad parameters {params}: {exc}") from None


def from_spec(spec: Any) -> GPSurrogate:
    """Build a model from a name, a ``{"name", "params"}`` dict, or return a model as is.

    Raises
    ------
    ValueError
        Malformed spec, unknown name or bad parameters.
    """
    if isinstance(spec, GPSurrogate):
        return spec
    name, params = split_spec(spec, "model")
    return get(name, **params)
