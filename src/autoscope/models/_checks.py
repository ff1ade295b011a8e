"""Checks of the surrogate models' constructor parameters and training inputs.

Every model validates its parameters when it is built (so a bad spec fails before
anything is measured) and its inputs at every fit; the messages name the parameter
and the value that came.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from autoscope._validate import check_int
from autoscope.errors import InputDataError
from autoscope.models._gp import _KERNELS

__all__ = ["check_float", "check_int", "check_shape", "check_xy", "log_normal", "surrogate_params"]


def check_float(name: str, value: Any, low: float, *, strict: bool = False) -> float:
    """Return ``value`` as float if it is finite and ``>= low`` (``> low`` if strict)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise InputDataError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    v = float(value)
    if not np.isfinite(v) or v < low or (strict and v == low):
        raise InputDataError(f"{name} must be {'>' if strict else '>='} {low}, got {value!r}")
    return v


def log_normal(name: str, value: Any) -> list[float] | None:
    """Return ``[loc, scale]`` of a log-normal prior (``scale > 0``), or ``None``."""
    if value is None:
        return None
    if isinstance(value, str | bytes) or not isinstance(value, Sequence) or len(value) != 2:
        raise InputDataError(f"{name} must be (loc, scale) or None, got {value!r}")
    return [
        check_float(f"{name} loc", value[0], -1e3),
        check_float(f"{name} scale", value[1], 0.0, strict=True),
    ]


def surrogate_params(
    *,
    kernel: str,
    nu: float,
    ard: bool,
    lengthscale: float | None,
    noise_floor: float,
    noise_init: float,
    noise_prior: Sequence[float] | None,
    n_iter: int,
    warm_iter: int,
    reinit_every: int,
    refit_every: int,
    refit_surprise: float | None,
    refit_growth: float,
    refit_slice: int,
    refit_lag: int,
    lr_gp: float,
    max_attempts: int,
    seed: int,
    dtype: str,
    device: str,
    threads: int | None,
) -> dict[str, Any]:
    """Return the checked, JSON-serialisable parameters of a :class:`GPSurrogate`.

    The arguments are those of :class:`~autoscope.models.GPSurrogate` (documented there).

    Raises
    ------
    InputDataError
        The first parameter that is out of range or of the wrong type, named.
    """
    if kernel not in _KERNELS:
        raise InputDataError(f"kernel must be one of {_KERNELS}, got {kernel!r}")
    if nu not in (0.5, 1.5, 2.5):
        raise InputDataError(f"nu must be 0.5, 1.5 or 2.5, got {nu!r}")
    if dtype not in ("float32", "float64"):
        raise InputDataError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    if device not in ("auto", "cpu", "cuda"):
        raise InputDataError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise InputDataError("device='cuda' was asked for but CUDA is not available")
    if lengthscale is not None:
        lengthscale = check_float("lengthscale", lengthscale, 0.0, strict=True)
    lag = check_int("refit_lag", refit_lag, 0)
    if lag and check_int("refit_every", refit_every, 1) < 2:
        raise InputDataError(
            f"refit_lag={lag} runs retrains in the background between conditioned fits: "
            "it needs the fast update path, refit_every >= 2"
        )
    if lag and check_int("refit_slice", refit_slice, 0):
        raise InputDataError(
            "refit_lag (retrains in a background thread) and refit_slice (retrains in slices "
            f"within the decisions) exclude each other; got refit_lag={lag}, "
            f"refit_slice={refit_slice}"
        )
    params = {
        "kernel": kernel,
        "nu": float(nu),
        "ard": bool(ard),
        "lengthscale": lengthscale,
        "noise_floor": check_float("noise_floor", noise_floor, 0.0, strict=True),
        "noise_init": check_float("noise_init", noise_init, float(noise_floor), strict=True),
        "noise_prior": log_normal("noise_prior", noise_prior),
        "n_iter": check_int("n_iter", n_iter, 0),
        "warm_iter": check_int("warm_iter", warm_iter, 0),
        "reinit_every": check_int("reinit_every", reinit_every, 0),
        "refit_every": check_int("refit_every", refit_every, 1),
        "refit_surprise": None
        if refit_surprise is None
        else check_float("refit_surprise", refit_surprise, 0.0, strict=True),
        "refit_growth": check_float("refit_growth", refit_growth, 1.0, strict=True),
        "refit_slice": check_int("refit_slice", refit_slice, 0),
        "lr_gp": check_float("lr_gp", lr_gp, 0.0, strict=True),
        "max_attempts": check_int("max_attempts", max_attempts, 1, 10),
        "seed": check_int("seed", seed, 0),
        "dtype": dtype,
        "device": device,
        "threads": None if threads is None else check_int("threads", threads, 1, 256),
    }
    if lag:  # absent otherwise: the specs stored before it existed still match
        params["refit_lag"] = lag
    return params


def check_shape(owner: str, x: np.ndarray, in_shape: tuple[int, ...] | None) -> None:
    """Raise unless inputs ``x`` (n, ...) have the shape ``in_shape`` the model was built for."""
    if in_shape is not None and tuple(x.shape[1:]) != in_shape:
        raise InputDataError(
            f"{owner} was built for inputs of shape (n, "
            f"{', '.join(map(str, in_shape))}), got {x.shape}"
        )


def check_xy(
    owner: str, x: Any, y: Any, in_shape: tuple[int, ...] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Return training inputs ``x`` (n, ...) and finite observations ``y`` (n,) as arrays.

    Raises
    ------
    InputDataError
        Mismatched or empty shapes, non-finite values, or inputs of another shape than
        ``in_shape`` (the model ``owner`` was built for).
    """
    x = np.asarray(x)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim < 2 or y.ndim != 1 or x.shape[0] != y.shape[0] or y.shape[0] == 0:
        raise InputDataError(
            f"fit expects x (n, ...) and y (n,) with n >= 1, got {x.shape} and {y.shape}"
        )
    if not np.isfinite(y).all():
        raise InputDataError("fit expects finite y; drop NaN/inf observations first")
    if not np.isfinite(x).all():
        raise InputDataError("fit expects finite x")
    check_shape(owner, x, in_shape)
    return x, y
