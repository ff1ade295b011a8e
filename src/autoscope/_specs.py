"""JSON specs ``{"name": ..., "params": {...}}``: the one way pluggable pieces are named.

:func:`split_spec` reads a spec; :class:`ClassRegistry` maps the names of specs to the
classes they build (models, policies).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from autoscope.errors import InputDataError
from autoscope.registry import Registry

__all__ = ["ClassRegistry", "split_spec"]

B = TypeVar("B")


def split_spec(spec: Any, what: str) -> tuple[str, dict[str, Any]]:
    """Return ``(name, params)`` of a name or a ``{"name", "params"}`` dict.

    Parameters
    ----------
    spec : str or mapping
        A registered name, or ``{"name": str, "params": dict}`` (``params`` optional).
    what : str
        What is specified (``"model"``, ``"policy"``), for the error messages.

    Raises
    ------
    ValueError
        Anything else, extra keys, or ``params`` that is not a dict.
    """
    if isinstance(spec, str):
        return spec, {}
    if isinstance(spec, Mapping):
        if "name" not in spec or set(spec) - {"name", "params"}:
            raise InputDataError(
                f"a {what} spec is {{'name': str, 'params': dict}}, got keys {sorted(spec)}"
            )
        params = spec.get("params") or {}
        if not isinstance(params, Mapping):
            raise InputDataError(f"{what} spec 'params' must be a dict, got {params!r}")
        return spec["name"], dict(params)
    raise InputDataError(f"a {what} is a name or a {{'name', 'params'}} dict, got {spec!r}")


class ClassRegistry(Registry[type[B]]):
    """Names → subclasses of ``base``, and the JSON specs that build their instances.

    The registry of models and of policies: a class is registered under the name its
    specs carry (its ``name`` attribute, which must equal the registered name); it is
    stored as given and never modified. :meth:`get` builds an instance from a name and
    parameters, :meth:`from_spec` from a name or a ``{"name", "params"}`` dict.

    Parameters
    ----------
    kind : str
        What the classes build, used in messages (``"model"``, ``"policy"``).
    base : type
        The base class every registered class derives from.
    bind : callable, optional
        ``bind(cls, params)`` raising :class:`ValueError` when ``params`` do not fit
        ``cls`` (checked before the class is called). Without it, a :class:`TypeError`
        from the constructor becomes an :class:`~autoscope.errors.InputDataError` naming
        the kind, the name and the parameters.

    Examples
    --------
    >>> class Shape:
    ...     name = "shape"
    ...     def __init__(self, sides=0):
    ...         self.sides = sides
    >>> class Square(Shape):
    ...     name = "square"
    >>> shapes = ClassRegistry("shape", Shape)
    >>> shapes.register("square", Square) is Square
    True
    >>> shapes.from_spec({"name": "square", "params": {"sides": 4}}).sides
    4
    >>> shapes.get("square", corners=4)
    Traceback (most recent call last):
    ...
    autoscope.errors.InputDataError: shape 'square': bad parameters {'corners': 4}: ...
    """

    def __init__(
        self,
        kind: str,
        base: type[B],
        bind: Callable[[type[B], dict[str, Any]], None] | None = None,
    ):
        super().__init__(kind, self._check)
        self.base = base
        self._bind = bind

    def _check(self, name: str, cls: type[B]) -> None:
        if not (isinstance(cls, type) and issubclass(cls, self.base)):
            raise InputDataError(
                f"{self.kind} {name!r}: expected a {self.base.__name__} subclass, got {cls!r}"
            )
        declared = getattr(cls, "name", None)
        if declared != name:
            raise InputDataError(
                f"{self.kind} {name!r}: class {cls.__name__} declares name {declared!r}, "
                f"which its specs carry; set `name = {name!r}` on the class to register it "
                "under that name"
            )

    def get(self, name: str, **params: Any) -> B:
        """Return a new instance of the class registered as ``name``, built with ``params``.

        Raises
        ------
        ValueError
            Unknown name, unknown parameter or bad value.
        """
        cls = self[name]
        if self._bind is not None:
            self._bind(cls, params)
            return cls(**params)
        try:
            return cls(**params)
        except TypeError as exc:
            raise InputDataError(f"{self.kind} {name!r}: bad parameters {params}: {exc}") from None

    def from_spec(self, spec: Any) -> B:
        """Build an instance from a name or a ``{"name", "params"}`` dict; return one as is.

        Raises
        ------
        ValueError
            Malformed spec, unknown name or bad parameters.
        """
        if isinstance(spec, self.base):
            return spec
        name, params = split_spec(spec, self.kind)
        return self.get(name, **params)
