"""The scalarizer registry: names → functions, JSON specs → callables.

Functions are registered as ``func(spectrum, axis, **params) -> float``. A
registered function may also provide a vectorised form
``vfunc(spectra, axis, **params) -> ndarray`` over a leading batch dimension,
a ``check(axis_or_None, **params)`` that validates parameters when the spec is
built, so that a plan can reject a bad spec before any hardware moves, and an
``explain(spectrum, axis, **params) -> str | None`` that says why a value is NaN
(or came from a fallback).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autoscope.errors import InputDataError
from autoscope.registry import Registry

__all__ = ["Scalarizer", "available", "from_spec", "get", "register", "to_spec"]


@dataclass(frozen=True)
class _Entry:
    func: Callable[..., float]
    vectorized: Callable[..., np.ndarray] | None
    check: Callable[..., None] | None
    spectrum_ndim: int | None | Callable[..., int | None]
    doc: str = ""
    params: tuple[str, ...] = field(default_factory=tuple)
    var_keyword: bool = False
    explain: Callable[..., str | None] | None = None
    check_takes_shape: bool = False


_REGISTRY: Registry[_Entry] = Registry("scalarizer")


def register(
    name: str,
    func: Callable[..., float],
    *,
    vectorized: Callable[..., np.ndarray] | None = None,
    check: Callable[..., None] | None = None,
    spectrum_ndim: int | None | Callable[..., int | None] = 1,
    explain: Callable[..., str | None] | None = None,
    overwrite: bool = False,
) -> Callable[..., float]:
    """Register ``func(spectrum, axis, **params) -> float`` under ``name``.

    Parameters
    ----------
    name : str
        The name used in specs (``{"name": name, "params": {...}}``).
    func : callable
        ``func(spectrum, axis, **params) -> float``; ``spectrum`` has shape (L,)
        (or (K, K) for diffraction patterns), ``axis`` shape (L,).
    vectorized : callable, optional
        ``vectorized(spectra, axis, **params) -> ndarray`` over a leading batch
        dimension, used by :meth:`Scalarizer.apply` for whole grids.
    check : callable, optional
        ``check(axis, **params)`` raising :class:`ValueError` for bad
        parameters; ``axis`` may be ``None`` when the axis is not known yet. If
        it accepts a ``spectrum_shape`` keyword, :meth:`Scalarizer.validate`
        passes the spectrum shape (or ``None``) too.
    spectrum_ndim : int, None or callable
        Expected number of dimensions of one spectrum (1 for spectra and loops,
        2 for diffraction patterns, ``None`` for any), or ``spectrum_ndim(**params)``
        returning it (for scalarizers built from others).
    explain : callable, optional
        ``explain(spectrum, axis, **params) -> str | None``: why the value is NaN
        or came from a fallback (``None`` when the primary method worked).
    overwrite : bool
        Replace an existing registration of the same name.

    Returns
    -------
    callable
        ``func`` itself, so that ``register`` can be used as a decorator helper.

    Raises
    ------
    ValueError
        If ``name`` is taken (and ``overwrite`` is false) or ``func`` is not callable.
    """
    if not callable(func):
        raise InputDataError(f"scalarizer {name!r}: expected a callable, got {type(func).__name__}")
    sig = inspect.signature(func)
    plist = list(sig.parameters.values())
    if len(plist) < 2:
        raise InputDataError(
            f"scalarizer {name!r}: function must take (spectrum, axis, **params), "
            f"got signature {sig}"
        )
    names = tuple(p.name for p in plist[2:] if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
    var_kw = any(p.kind is p.VAR_KEYWORD for p in plist)
    takes_shape = check is not None and "spectrum_shape" in inspect.signature(check).parameters
    _REGISTRY.register(
        name,
        _Entry(
            func=func,
            vectorized=vectorized,
            check=check,
            spectrum_ndim=spectrum_ndim,
            doc=inspect.getdoc(func) or "",
            params=names,
            var_keyword=var_kw,
            explain=explain,
            check_takes_shape=takes_shape,
        ),
        overwrite=overwrite,
    )
    return func


def available() -> list[str]:
    """Return the sorted names of all registered scalarizers."""
    return _REGISTRY.available()


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


class Scalarizer:
    """A named, parameterised ``spectrum, axis -> float`` function.

    Built by :func:`get` or :func:`from_spec`; call it on one spectrum, or use
    :meth:`apply` on a batch.

    Attributes
    ----------
    name : str
        Registered name.
    params : dict
        Keyword parameters bound to the function (JSON-serialisable).
    """

    def __init__(self, name: str, params: Mapping[str, Any] | None = None):
        entry = _REGISTRY[name]  # ValueError naming an unknown name
        params = dict(params or {})
        unknown = [k for k in params if k not in entry.params]
        if unknown and not entry.var_keyword:
            raise InputDataError(
                f"scalarizer {name!r} got unknown parameter(s) {unknown}; "
                f"it accepts {list(entry.params)}"
            )
        try:
            inspect.signature(entry.func).bind(None, None, **params)
        except TypeError as exc:
            raise InputDataError(f"scalarizer {name!r}: bad parameters {params}: {exc}") from None
        try:
            json.dumps(_jsonable(params))
        except TypeError as exc:
            raise InputDataError(
                f"scalarizer {name!r}: parameters must be JSON-serialisable: {exc}"
            ) from None
        if entry.check is not None:
            entry.check(None, **params)
        ndim = entry.spectrum_ndim
        self._ndim: int | None = ndim(**params) if callable(ndim) else ndim
        self.name = name
        self.params = params
        self._entry = entry

    @property
    def spec(self) -> dict[str, Any]:
        """The JSON spec ``{"name": ..., "params": {...}}`` that rebuilds this scalarizer."""
        return {"name": self.name, "params": _jsonable(self.params)}

    @property
    def spectrum_ndim(self) -> int | None:
        """Expected dimensions of one spectrum (1: spectrum/loop, 2: diffraction pattern)."""
        return self._ndim

    def validate(self, axis: np.ndarray, spectrum_shape: tuple[int, ...] | None = None) -> None:
        """Check the parameters against a concrete axis (and spectrum shape).

        Raises
        ------
        ValueError
            If an interval lies outside the axis or shapes disagree.
        """
        axis = np.asarray(axis)
        if axis.ndim != 1 or axis.size < 2:
            raise InputDataError(f"axis must be 1-D with >= 2 points, got shape {axis.shape}")
        if not np.all(np.isfinite(axis)):
            raise InputDataError("axis holds non-finite values")
        if spectrum_shape is not None:
            spectrum_shape = tuple(int(n) for n in spectrum_shape)
            nd = self._ndim
            if nd is not None and len(spectrum_shape) != nd:
                raise InputDataError(
                    f"scalarizer {self.name!r} expects {nd}-D spectra, got shape {spectrum_shape}"
                )
            if nd == 2 and spectrum_shape != (axis.size, axis.size):
                raise InputDataError(
                    f"pattern shape {spectrum_shape} does not match the detector axis: "
                    f"expected ({axis.size}, {axis.size})"
                )
            if spectrum_shape[-1] != axis.size:
                raise InputDataError(
                    f"spectrum length {spectrum_shape[-1]} does not match axis length {axis.size}"
                )
        if self._entry.check is not None:
            if self._entry.check_takes_shape:
                self._entry.check(axis, spectrum_shape=spectrum_shape, **self.params)
            else:
                self._entry.check(axis, **self.params)

    def _check_one(self, spectrum: np.ndarray, axis: np.ndarray) -> None:
        nd = self._ndim
        if nd is not None and spectrum.ndim != nd:
            raise InputDataError(
                f"scalarizer {self.name!r} expects a {nd}-D spectrum, got shape {spectrum.shape}"
            )
        if axis.ndim != 1 or spectrum.shape[-1] != axis.shape[0]:
            raise InputDataError(
                f"spectrum of shape {spectrum.shape} does not match axis of shape {axis.shape}"
            )
        if nd == 2 and spectrum.shape[0] != axis.shape[0]:
            raise InputDataError(
                f"pattern of shape {spectrum.shape} does not match detector axis of shape "
                f"{axis.shape}: expected ({axis.size}, {axis.size})"
            )

    def explain(self, spectrum: np.ndarray, axis: np.ndarray) -> str | None:
        """Say why the value for ``spectrum`` is NaN or came from a fallback.

        Returns
        -------
        str or None
            A human-readable reason, or ``None`` when the primary method gave a
            finite value. Scalarizers registered without an ``explain`` hook
            report only that the value is not finite.
        """
        spectrum = np.asarray(spectrum, dtype=float)
        axis = np.asarray(axis, dtype=float)
        self._check_one(spectrum, axis)
        if self._entry.explain is not None:
            why = self._entry.explain(spectrum, axis, **self.params)
            if why is not None:
                return why
        with np.errstate(all="ignore"):
            value = float(self._entry.func(spectrum, axis, **self.params))
        if np.isfinite(value):
            return None
        if not np.all(np.isfinite(spectrum)) or np.abs(spectrum).max(initial=0.0) > 1e150:
            return f"{self.name} returned {value}: the spectrum holds non-finite or huge values"
        return f"{self.name} returned {value} (no reason given)"

    def __call__(self, spectrum: np.ndarray, axis: np.ndarray) -> float:
        """Return the scalar for one spectrum (NaN where it is undefined)."""
        spectrum = np.asarray(spectrum, dtype=float)
        axis = np.asarray(axis, dtype=float)
        self._check_one(spectrum, axis)
        return float(self._entry.func(spectrum, axis, **self.params))

    def apply(self, spectra: np.ndarray, axis: np.ndarray) -> np.ndarray:
        """Return the scalar for each spectrum in a batch.

        Parameters
        ----------
        spectra : ndarray, shape (n, L) or (n, K, K)
            A batch of spectra (any number of leading dimensions is flattened).
        axis : ndarray, shape (L,)

        Returns
        -------
        ndarray, shape (n,) (or the leading shape of ``spectra``)
        """
        spectra = np.asarray(spectra, dtype=float)
        axis = np.asarray(axis, dtype=float)
        nd = self._ndim or 1
        if spectra.ndim < nd + 1:
            raise InputDataError(
                f"scalarizer {self.name!r}: expected a batch of {nd}-D spectra "
                f"(ndim >= {nd + 1}), got shape {spectra.shape}"
            )
        lead = spectra.shape[: spectra.ndim - nd]
        flat = spectra.reshape((-1,) + spectra.shape[spectra.ndim - nd :])
        if flat.shape[0] == 0:
            return np.empty(lead, dtype=float)
        self._check_one(flat[0], axis)
        if self._entry.vectorized is not None:
            out = np.asarray(self._entry.vectorized(flat, axis, **self.params), dtype=float)
        else:
            out = np.array([self._entry.func(s, axis, **self.params) for s in flat], dtype=float)
        return out.reshape(lead)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"Scalarizer({self.name!r}{', ' if args else ''}{args})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Scalarizer) and self.spec == other.spec

    def __hash__(self) -> int:
        return hash(json.dumps(self.spec, sort_keys=True))

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]:
        # pickle by spec (for process pools): rebuilt from the registry on the other side
        return (from_spec, (self.spec,))


def get(name: str, **params: Any) -> Scalarizer:
    """Return the scalarizer registered as ``name`` with ``params`` bound.

    Raises
    ------
    ValueError
        Unknown name, unknown parameter names or bad parameter values.
    """
    return Scalarizer(name, params)


def from_spec(spec: Any) -> Scalarizer:
    """Build a scalarizer from a name, a ``{"name", "params"}`` dict, or a :class:`Scalarizer`.

    Raises
    ------
    ValueError
        If the spec is malformed or names an unknown scalarizer.
    """
    if isinstance(spec, Scalarizer):
        return spec
    if isinstance(spec, str):
        return Scalarizer(spec)
    if isinstance(spec, Mapping):
        extra = set(spec) - {"name", "params"}
        if "name" not in spec or extra:
            raise InputDataError(
                f"a scalarizer spec is {{'name': str, 'params': dict}}, got keys {sorted(spec)}"
            )
        params = spec.get("params") or {}
        if not isinstance(params, Mapping):
            raise InputDataError(f"scalarizer spec 'params' must be a dict, got {params!r}")
        return Scalarizer(spec["name"], params)
    raise InputDataError(
        f"a scalarizer is a name or a {{'name', 'params'}} dict, got {type(spec).__name__}"
    )


def to_spec(spec: Any) -> dict[str, Any]:
    """Normalise a name/dict/:class:`Scalarizer` to its JSON spec (validating it)."""
    return from_spec(spec).spec
