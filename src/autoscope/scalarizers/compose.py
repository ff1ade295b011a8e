r"""Composition: a weighted sum or a ratio of other scalarizers, each given by its spec.

``terms`` is a JSON list ``[{"spec": <scalarizer spec>, "weight": w}, ...]``
(``weight`` optional, default 1):

* ``op="sum"``: :math:`f(s) = \sum_k w_k f_k(s)` (units of the terms; mixing
  units is the user's choice);
* ``op="ratio"``: exactly two terms, :math:`f(s) = \frac{w_1 f_1(s)}{w_2 f_2(s)}`,
  NaN when the denominator is zero.

Every nested spec is built (and so validated) when the ``combine`` spec is
built; :meth:`Scalarizer.validate` validates each term against the axis and
spectrum shape. All terms must expect spectra of the same dimensionality. NaN
in any term gives NaN; :meth:`Scalarizer.explain` names the term and its reason.

Examples
--------
>>> import numpy as np
>>> from autoscope import scalarizers
>>> axis = np.linspace(0.0, 10.0, 101)
>>> f = scalarizers.get("combine", op="ratio", terms=[
...     {"spec": {"name": "band_integral", "params": {"low": 0.0, "high": 2.0}}},
...     {"spec": {"name": "band_integral", "params": {"low": 0.0, "high": 4.0}}, "weight": 2.0}])
>>> round(f(np.ones(101), axis), 6)
0.25
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from autoscope.errors import InputDataError
from autoscope.scalarizers._checks import check_choice, check_number
from autoscope.scalarizers._registry import Scalarizer, from_spec, register

__all__ = ["combine"]

OPS = ("sum", "ratio")


def _children(terms: Any) -> list[tuple[Scalarizer, float]]:
    if not isinstance(terms, list | tuple) or not terms:
        raise InputDataError(
            "parameter 'terms' must be a non-empty list of {'spec', 'weight'} dicts, "
            f"got {terms!r}"
        )
    out = []
    for k, term in enumerate(terms):
        if not isinstance(term, Mapping) or "spec" not in term or set(term) - {"spec", "weight"}:
            raise InputDataError(
                f"combine term {k} must be a dict with keys 'spec' and optional 'weight', "
                f"got {term!r}"
            )
        weight = term.get("weight", 1.0)
        try:
            check_number(f"terms[{k}].weight", weight)
            child = from_spec(term["spec"])
        except ValueError as exc:
            raise InputDataError(f"combine term {k}: {exc}") from None
        out.append((child, float(weight)))
    return out


def _check_combine(axis, terms, op="sum", spectrum_shape=None) -> None:
    check_choice("op", op, OPS)
    children = _children(terms)
    if op == "ratio" and len(children) != 2:
        raise InputDataError(f"op='ratio' needs exactly 2 terms, got {len(children)}")
    ndims = {c.spectrum_ndim for c, _ in children if c.spectrum_ndim is not None}
    if len(ndims) > 1:
        raise InputDataError(
            f"combine terms expect spectra of different dimensionality: {sorted(ndims)}"
        )
    if axis is not None:
        for k, (child, _) in enumerate(children):
            try:
                child.validate(axis, spectrum_shape)
            except ValueError as exc:
                raise InputDataError(f"combine term {k} ({child.name}): {exc}") from None


def _ndim(terms, op="sum") -> int | None:
    ndims = {c.spectrum_ndim for c, _ in _children(terms)} - {None}
    return ndims.pop() if ndims else None


def _reduce(values: list[np.ndarray], op: str) -> np.ndarray:
    if op == "sum":
        return np.sum(values, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(values[1] != 0, values[0] / values[1], np.nan)


def _vcombine(spectra, axis, terms, op="sum"):
    return _reduce([w * c.apply(spectra, axis) for c, w in _children(terms)], op)


def combine(spectrum, axis, terms, op="sum") -> float:
    r"""Weighted sum (``op="sum"``) or ratio (``op="ratio"``) of other scalarizers.

    .. math:: f = \sum_k w_k f_k \quad \text{or} \quad f = \frac{w_1 f_1}{w_2 f_2}

    See :mod:`autoscope.scalarizers.compose`. Units: those of the terms.
    """
    values = [np.array([w * c(spectrum, axis)]) for c, w in _children(terms)]
    return float(_reduce(values, op)[0])


def _explain_combine(spectrum, axis, terms, op="sum") -> str | None:
    children = _children(terms)
    for k, (child, _) in enumerate(children):
        reason = child.explain(spectrum, axis)
        if reason is not None:
            return f"term {k} ({child.name}): {reason}"
    if op == "ratio" and children[1][1] * children[1][0](spectrum, axis) == 0:
        return "denominator term is zero"
    return None


register(
    "combine",
    combine,
    vectorized=_vcombine,
    check=_check_combine,
    spectrum_ndim=_ndim,
    explain=_explain_combine,
)
