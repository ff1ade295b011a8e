"""Where a model runs: ``device="auto"`` picks CUDA where it pays, per model and candidate count.

A decision costs a few Adam steps on ``n <= a few hundred`` points plus one pass of the
feature map over every candidate. On a GPU each kernel launch has a fixed cost, so for
the 2,401 candidates of a 64 x 64 image a decision is *slower* there than on one CPU
thread (0.48 s against 0.23 s, measured on an H200); the candidate pass grows with the
grid and is what a GPU speeds up. ``"auto"`` therefore chooses CUDA only for a model
with a neural feature map (:attr:`GPSurrogate.cuda_min_candidates`) and at least that
many candidates (12,769 for 128 x 128 with 16 x 16 patches); a GP on coordinates or on
principal components stays on the CPU, where it takes milliseconds. In the default
committee the spatial DKL thus moves to the GPU from 128 x 128 up and the coordinate GP
stays on the CPU.
"""

from __future__ import annotations

import torch

__all__ = ["DKL_CUDA_MIN_CANDIDATES", "resolve_device"]

#: candidates from which a model with a neural feature map runs on CUDA under "auto"
DKL_CUDA_MIN_CANDIDATES = 10_000


def resolve_device(
    requested: str, n_candidates: int | None, min_candidates: int | None
) -> torch.device:
    """Return the device a model runs on.

    Parameters
    ----------
    requested : {"auto", "cpu", "cuda"}
    n_candidates : int or None
        Candidates the model predicts at every decision (``None``: not known yet).
    min_candidates : int or None
        The model's threshold for CUDA under ``"auto"`` (``None``: never).

    Examples
    --------
    >>> resolve_device("auto", 62_001, None).type
    'cpu'
    >>> resolve_device("cpu", 62_001, 10_000).type
    'cpu'
    """
    if requested != "auto":
        return torch.device(requested)
    if n_candidates is None or min_candidates is None or n_candidates < min_candidates:
        return torch.device("cpu")
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
