"""Named registries: the one pattern behind scalarizers, models and policies.

A :class:`Registry` maps names (the ``"name"`` of a JSON spec
``{"name": ..., "params": {...}}``) to entries of one kind: a scalarizer's
function record, a model class, a policy class. Every kind behaves the same way:

* ``register(name, entry)`` refuses an empty name, a taken name (unless
  ``overwrite=True``) and an entry the kind's ``validate`` hook rejects; it
  stores the entry as given and never modifies it;
* ``registry[name]`` raises :class:`~autoscope.errors.InputDataError` (a
  :class:`ValueError`) naming the unknown name and listing what is available;
* ``available()`` lists the names, sorted.

The module sits at the bottom of the import graph (it imports only
:mod:`autoscope.errors`), so a registry can live next to the base class of what
it holds and be read by any module of that package without import cycles.

Examples
--------
>>> from autoscope.registry import Registry
>>> shapes = Registry[int]("shape")
>>> shapes.register("square", 4)
4
>>> shapes["square"], shapes.available()
(4, ['square'])
>>> shapes["circle"]
Traceback (most recent call last):
...
autoscope.errors.InputDataError: unknown shape 'circle'; available: square
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from autoscope.errors import InputDataError

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Names → entries of one kind, with the same errors for every kind.

    Parameters
    ----------
    kind : str
        What the entries are, used in messages (``"scalarizer"``, ``"model"``, ...).
    validate : callable, optional
        ``validate(name, entry)`` raising :class:`ValueError` when ``entry`` may not
        be registered as ``name`` (wrong type, a class whose own name disagrees, ...).
        It must not modify the entry.
    """

    def __init__(self, kind: str, validate: Callable[[str, T], None] | None = None):
        self.kind = kind
        self._validate = validate
        self._entries: dict[str, T] = {}

    def register(self, name: str, entry: T, *, overwrite: bool = False) -> T:
        """Store ``entry`` under ``name`` and return it unchanged.

        Raises
        ------
        ValueError
            ``name`` is not a non-empty string, is taken (without ``overwrite``), or
            ``validate`` rejects the entry.
        """
        if not isinstance(name, str) or not name:
            raise InputDataError(f"{self.kind} name must be a non-empty string, got {name!r}")
        if self._validate is not None:
            self._validate(name, entry)
        if name in self._entries and not overwrite:
            raise InputDataError(
                f"{self.kind} {name!r} is already registered (pass overwrite=True)"
            )
        self._entries[name] = entry
        return entry

    def unregister(self, name: str) -> T:
        """Remove ``name`` and return its entry.

        Raises
        ------
        ValueError
            ``name`` is not registered.
        """
        entry = self[name]
        del self._entries[name]
        return entry

    def available(self) -> list[str]:
        """Return the registered names, sorted."""
        return sorted(self._entries)

    def __getitem__(self, name: str) -> T:
        if not isinstance(name, str) or name not in self._entries:
            raise InputDataError(
                f"unknown {self.kind} {name!r}; available: {', '.join(self.available())}"
            )
        return self._entries[name]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.available())

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.available()})"
