"""The report in words: what the scalarizer, the policy and the numbers of a run mean physically.

Each function turns a spec or a number of a stored run into a sentence a microscopist reads at a
glance (the JSON stays beside it in the report). Units come from the run's instrument description
(``specs["instrument"]["sample"]``: ``axis_name``, ``axis_units``, ``spectrum_units``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "axis_summary",
    "describe_policy",
    "describe_scalarizer",
    "run_meta",
    "value_label",
    "value_sentence",
]


def run_meta(trace: Any) -> dict[str, Any]:
    """Units and names of a run: pixel size and units, axis name/units, spectrum/image units."""
    specs = dict(getattr(trace, "specs", None) or {})
    sample = dict((specs.get("instrument") or {}).get("sample") or {})
    px = specs.get("pixel_size", sample.get("pixel_size"))
    px_units = sample.get("pixel_units") or ""
    if px is None or not np.isfinite(float(px)) or float(px) <= 0 or px_units in ("", "px"):
        px, px_units = 1.0, "px"
    return {
        "pixel_size": float(px),
        "pixel_units": str(px_units),
        "axis_name": str(sample.get("axis_name") or "spectral axis"),
        "axis_units": str(specs.get("axis_units") or sample.get("axis_units") or ""),
        "spectrum_units": str(sample.get("spectrum_units") or "a.u."),
        "image_units": str(sample.get("image_units") or "a.u."),
        "kind": sample.get("kind"),
    }


def _num(x: Any) -> str:
    return f"{float(x):g}"


def _band(lo: Any, hi: Any, units: str) -> str:
    return f"{_num(lo)}–{_num(hi)} {units}".rstrip()


#: scalarizer name → (quantity, unit rule); the rule is filled from :func:`run_meta`
_QUANTITY = {
    "peak_ratio": ("peak ratio", "dimensionless"),
    "band_integral": ("band integral", "{spectrum_units} × {axis_units}"),
    "band_max": ("band maximum", "{spectrum_units}"),
    "centroid": ("centroid", "{axis_units}"),
    "peak_position": ("peak position", "{axis_units}"),
    "peak_width": ("peak width (FWHM)", "{axis_units}"),
    "peak_height": ("peak height", "{spectrum_units}"),
    "loop_area": ("loop area", "{spectrum_units} × {axis_units}"),
    "loop_height": ("loop height", "{spectrum_units}"),
    "coercive_field": ("coercive field", "{axis_units}"),
    "imprint": ("imprint", "{axis_units}"),
    "remanence": ("remanence", "{spectrum_units}"),
    "com_x": ("CoM shift x", "{axis_units}"),
    "com_y": ("CoM shift y", "{axis_units}"),
    "com_magnitude": ("CoM shift", "{axis_units}"),
    "com_angle": ("CoM direction", "rad"),
    "annular_integral": ("annular integral", "{spectrum_units}"),
    "similarity": ("similarity to the target", "dimensionless"),
}


def value_label(spec: Any, meta: dict[str, Any]) -> str:
    """Axis/colorbar label of the scalar: quantity and unit, e.g. ``"peak ratio (dimensionless)"``.

    Examples
    --------
    >>> value_label({"name": "loop_area"}, {"spectrum_units": "a.u.", "axis_units": "V"})
    'loop area (a.u. × V)'
    """
    name = (spec or {}).get("name") if isinstance(spec, dict) else spec
    quantity, rule = _QUANTITY.get(str(name), (str(name or "value").replace("_", " "), ""))
    unit = rule.format(**{k: meta.get(k) or "a.u." for k in ("spectrum_units", "axis_units")})
    return f"{quantity} ({unit})" if unit else quantity


def describe_scalarizer(spec: Any, meta: dict[str, Any]) -> str:
    """One sentence on what the scalarizer measures, in the run's units.

    Examples
    --------
    >>> spec = {"name": "peak_ratio", "params": {"low1": 3, "high1": 9, "low2": 12, "high2": 26}}
    >>> describe_scalarizer(spec, {"axis_units": "eV", "axis_name": "energy loss"}).split(":")[0]
    'the highest signal at 3–9 eV divided by the highest signal at 12–26 eV of energy loss'
    """
    if not isinstance(spec, dict):
        return f"the scalarizer {spec!r}"
    name, p = spec.get("name"), dict(spec.get("params") or {})
    u, ax = meta.get("axis_units") or "", meta.get("axis_name") or "axis"
    if name == "peak_ratio":
        q = {"max": "highest signal", "integral": "integrated signal", "fit": "fitted peak height"}
        what = q.get(p.get("method", "max"), "signal")
        return (
            f"the {what} at {_band(p['low1'], p['high1'], u)} divided by the {what} at "
            f"{_band(p['low2'], p['high2'], u)} of {ax}: above 1 the first band is the stronger "
            "(in STEM-EELS of a metal particle: the surface plasmon against the bulk plasmon)"
        )
    if name in ("band_integral", "band_max"):
        verb = "integral" if name == "band_integral" else "maximum"
        return f"the {verb} of the spectrum over {_band(p['low'], p['high'], u)} of {ax}"
    if name == "loop_area":
        return (
            f"the area enclosed by the hysteresis loop (response against {ax}): a larger area "
            "means more switchable polarization, a smaller one a pinned or non-polar region"
        )
    if name == "com_magnitude":
        return (
            "how far the centre of mass of the diffraction pattern is shifted from the "
            f"detector centre ({u}): proportional to the in-plane electric or magnetic field "
            "under the probe"
        )
    if name == "beps_fit":
        return f"coefficient {p.get('coefficient', 'a2')} of the 9-parameter BEPS loop fit"
    quantity = value_label(spec, meta)
    params = ", ".join(f"{k}={v}" for k, v in p.items())
    return f"the {quantity} of each spectrum" + (f" ({params})" if params else "")


def describe_policy(spec: Any) -> str:
    """One sentence on how the policy picks the next point.

    Examples
    --------
    >>> describe_policy({"name": "ucb", "params": {"beta": 4.0}})[:48]
    'upper confidence bound: the point with the highe'
    """
    name = spec.get("name") if isinstance(spec, dict) else spec
    p = dict(spec.get("params") or {}) if isinstance(spec, dict) else {}
    goal = "lowest" if p.get("maximize") is False else "highest"
    words = {
        "ei": f"expected improvement: the point where the expected gain over the {goal} value "
        "measured so far is largest; it weighs a high predicted value against a large "
        "uncertainty",
        "logei": "expected improvement (computed in log space for numerical robustness): the "
        "point with the largest expected gain over the best value so far",
        "pi": "probability of improvement: the point most likely to beat the best value so far",
        "ucb": f"upper confidence bound: the point with the highest mean + "
        f"{np.sqrt(float(p.get('beta', 4.0))):g} × standard deviation (β = "
        f"{_num(p.get('beta', 4.0))}); larger β explores more",
        "maxvar": "maximum variance: pure exploration, the point the model is least sure about",
        "exploit": "pure exploitation: the point with the highest predicted value",
        "thompson": "Thompson sampling: the best point of one random draw from the model",
        "cost_aware": "a policy divided by the cost of getting there (probe travel, dose)",
    }
    return words.get(str(name), f"the policy {name!r}")


def axis_summary(axis: Any, units: str = "", name: str = "spectral axis") -> str:
    """Summarise a spectral axis in one line instead of listing it.

    Examples
    --------
    >>> axis_summary(np.arange(-2, 40.25, 0.25), "eV", "energy loss")
    'energy loss: 169 channels from -2 to 40 eV, step 0.25 eV'
    """
    a = np.asarray(axis, dtype=float)
    if a.ndim != 1 or a.size == 0:
        return f"{name}: shape {list(a.shape)}"
    u = f" {units}" if units else ""
    d = np.diff(a)
    if a.size > 1 and np.allclose(d, d[0], rtol=1e-6, atol=1e-12):
        step = f", step {d[0]:.3g}{u}"
    elif a.size > 1 and (np.any(d > 0) and np.any(d < 0)):
        step = f", a sweep that turns {int(np.sum(np.diff(np.sign(d)) != 0))} time(s)"
    else:
        step = ""
    return f"{name}: {a.size} channels from {np.min(a):.4g} to {np.max(a):.4g}{u}{step}"


def value_sentence(spec: Any, value: Any, meta: dict[str, Any]) -> str:
    """Say what one value of the scalar means, e.g. ``"peak ratio 1.30: band 1 is 1.30 × ..."``."""
    if value is None or not np.isfinite(float(value)):
        return "undefined (the scalarizer returned NaN)"
    v = float(value)
    name = spec.get("name") if isinstance(spec, dict) else spec
    if name == "peak_ratio":
        p = dict(spec.get("params") or {})
        u = meta.get("axis_units") or ""
        return (
            f"{v:.3g}: the signal at {_band(p['low1'], p['high1'], u)} is {v:.2f} times that at "
            f"{_band(p['low2'], p['high2'], u)}"
        )
    return f"{v:.4g} {value_label(spec, meta)}"
