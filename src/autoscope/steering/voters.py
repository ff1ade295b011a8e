r"""Voters for BOARS: a terminal prompt, any callable, and a simulated expert for tests.

A voter is ``voter(spectrum, axis, info) -> 0 | 1 | 2 | None`` (bad, neutral, good,
no vote); ``info`` holds ``step``, ``candidate_id``, ``row``, ``col``, the current
``target`` (or ``None``) and the ``human_weight`` (see :mod:`.boars`).

The simulated expert prefers one spectral shape: with a similarity score
:math:`\rho` of the spectrum to what it likes (Pearson correlation with a
template :math:`p`, or any score function, e.g. :func:`loop_symmetry`),

.. math:: v = 2 \text{ if } \rho + \epsilon \ge g, \quad 0 \text{ if } \rho + \epsilon < b,
          \quad 1 \text{ otherwise}, \qquad \epsilon \sim \mathcal N(0, \sigma^2)

with thresholds :math:`g` (``good``) and :math:`b` (``bad``) and optional noise :math:`\sigma`.

Examples
--------
>>> import io
>>> import numpy as np
>>> from autoscope.steering.voters import TerminalVoter, sparkline
>>> sparkline([0, 1, 2, 3, 4, 5, 6, 7])
'▁▂▃▄▅▆▇█'
>>> out = io.StringIO()
>>> voter = TerminalVoter(stdin=io.StringIO("x\n2\n"), stdout=out)
>>> voter(np.arange(8.0), np.arange(8.0), {"step": 3})
2
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

from autoscope.errors import InputDataError
from autoscope.steering.boars import check_vote

__all__ = ["CallableVoter", "SimulatedExpert", "TerminalVoter", "loop_symmetry", "sparkline"]

_BARS = "▁▂▃▄▅▆▇█"
_KEYS = {"0": 0, "b": 0, "1": 1, "n": 1, "2": 2, "g": 2, "s": None, "": None}


def sparkline(values: Any, width: int = 64) -> str:
    """Draw a 1-D array as a one-line bar chart of ``width`` characters (mean-binned).

    NaN bins are blank; a 2-D pattern is drawn as its row mean.
    """
    v = np.asarray(values, dtype=float)
    if v.ndim > 1:
        v = v.reshape(v.shape[0], -1).mean(axis=1)
    if v.size == 0:
        return ""
    if v.size > width:
        edges = np.linspace(0, v.size, width + 1).astype(int)
        with np.errstate(invalid="ignore"):
            v = np.array(
                [
                    np.nanmean(v[a:b]) if np.isfinite(v[a:b]).any() else np.nan
                    for a, b in zip(edges[:-1], edges[1:], strict=True)
                ]
            )
    ok = np.isfinite(v)
    if not ok.any():
        return " " * v.size
    lo, hi = v[ok].min(), v[ok].max()
    idx = np.zeros(v.size, dtype=int) if hi == lo else np.round((v - lo) / (hi - lo) * 7)
    return "".join(_BARS[int(i)] if g else " " for i, g in zip(np.nan_to_num(idx), ok, strict=True))


class TerminalVoter:
    """Ask a person at the terminal: show the spectrum (sparkline, optional PNG), read a key.

    Keys: ``0``/``b`` bad, ``1``/``n`` neutral, ``2``/``g`` good, ``s`` or Enter: no
    vote; anything else asks again (at most ``max_tries`` times, then no vote). End
    of input gives no vote.

    Parameters
    ----------
    stdin, stdout : file-like, optional
        Where to read keys and write the prompt (default: the terminal); inject
        ``io.StringIO`` streams in tests.
    png_dir : str or Path, optional
        Also save each spectrum (and the target) as ``vote_<step>.png`` there.
    width : int
        Sparkline width, characters.
    max_tries : int
    """

    def __init__(
        self,
        stdin: IO[str] | None = None,
        stdout: IO[str] | None = None,
        *,
        png_dir: str | Path | None = None,
        width: int = 64,
        max_tries: int = 3,
    ):
        self.stdin, self.stdout = stdin, stdout
        self.png_dir = None if png_dir is None else Path(png_dir)
        self.width, self.max_tries = int(width), int(max_tries)

    def _write(self, text: str) -> None:
        out = self.stdout or sys.stdout
        out.write(text)
        out.flush()

    def __call__(
        self, spectrum: np.ndarray, axis: np.ndarray, info: dict | None = None
    ) -> int | None:
        """Show ``spectrum`` and return the key pressed as a vote."""
        info = dict(info or {})
        step = info.get("step", "?")
        s = np.asarray(spectrum, dtype=float)
        lines = [
            f"step {step} at (row {info.get('row', '?')}, col {info.get('col', '?')}); "
            f"human weight {info.get('human_weight', 1.0):.2f}",
            f"  spectrum {sparkline(s, self.width)}  [{np.nanmin(s):.3g}, {np.nanmax(s):.3g}]",
        ]
        if info.get("target") is not None:
            lines.append(f"  target   {sparkline(info['target'], self.width)}")
        if self.png_dir is not None:
            lines.append(f"  plot: {self._png(self.png_dir, s, axis, info)}")
        self._write("\n".join(lines) + "\n")
        stdin = self.stdin or sys.stdin
        for _ in range(self.max_tries):
            self._write("vote 0/b bad, 1/n neutral, 2/g good, s skip: ")
            line = stdin.readline()
            if not line:
                return None
            key = line.strip().lower()
            if key in _KEYS:
                return _KEYS[key]
            self._write(f"unknown key {key!r}\n")
        return None

    def _png(self, png_dir: Path, spectrum: np.ndarray, axis: np.ndarray, info: dict) -> Path:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        png_dir.mkdir(parents=True, exist_ok=True)
        path = png_dir / f"vote_{info.get('step', 0)}.png"
        fig, ax = plt.subplots(figsize=(5, 3))
        x = np.asarray(axis) if np.shape(axis) == spectrum.shape else np.arange(spectrum.size)
        ax.plot(x, spectrum, label="spectrum")
        if info.get("target") is not None:
            ax.plot(x, np.asarray(info["target"]), "--", label="target")
        ax.set_title(f"step {info.get('step', '?')}: 0 bad, 1 neutral, 2 good")
        ax.legend()
        fig.savefig(path, dpi=80)
        plt.close(fig)
        return path


class CallableVoter:
    """Wrap a function as a voter: ``func(spectrum, axis, info)`` or ``func(spectrum)``.

    Parameters
    ----------
    func : callable
        Returns 0, 1, 2 or ``None``; anything else raises ``InputDataError``.
    takes_info : bool
        ``True``: called with ``(spectrum, axis, info)``; ``False``: with ``(spectrum,)``.
    """

    def __init__(self, func: Callable[..., Any], takes_info: bool = True):
        if not callable(func):
            raise InputDataError(f"func must be callable, got {type(func).__name__}")
        self.func, self.takes_info = func, takes_info

    def __call__(
        self, spectrum: np.ndarray, axis: np.ndarray, info: dict | None = None
    ) -> int | None:
        """Return the wrapped function's vote."""
        out = self.func(spectrum, axis, info or {}) if self.takes_info else self.func(spectrum)
        return check_vote(out)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a = np.ravel(a) - np.mean(a)
    b = np.ravel(b) - np.mean(b)
    den = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / den) if den > 0 else 0.0


def loop_symmetry(spectrum: np.ndarray, axis: np.ndarray) -> float:
    r"""How symmetric a hysteresis loop is: :math:`\rho(R_\uparrow(V), -R_\downarrow(-V))`.

    Points where the bias ``axis`` rises form the up branch :math:`R_\uparrow`, where it
    falls the down branch :math:`R_\downarrow`; a loop without imprint or vertical
    offset satisfies :math:`R_\uparrow(V) = -R_\downarrow(-V)` (Pearson ρ = 1).
    """
    v, r = np.asarray(axis, dtype=float), np.asarray(spectrum, dtype=float)
    dv = np.gradient(v)
    up, down = dv > 0, dv < 0
    if up.sum() < 2 or down.sum() < 2:
        raise InputDataError("loop_symmetry needs a bias axis that rises and falls")
    vu, ru = v[up], r[up]
    vd, rd = v[down], r[down]
    order = np.argsort(vd)
    mirrored = -np.interp(-vu, vd[order], rd[order])
    return _pearson(ru, mirrored)


class SimulatedExpert:
    r"""A voter that prefers one spectral shape (see the module docstring).

    Parameters
    ----------
    preferred : array_like, shape (L,), optional
        Template :math:`p`; the score is the Pearson correlation with it.
    score : callable, optional
        ``score(spectrum, axis) -> float`` instead of a template (e.g. :func:`loop_symmetry`).
    good, bad : float
        Thresholds :math:`g > b` on the score.
    noise : float
        Standard deviation :math:`\sigma` of the score noise (needs ``rng``).
    rng : numpy.random.Generator, optional
    """

    def __init__(
        self,
        preferred: Any = None,
        *,
        score: Callable[..., float] | None = None,
        good: float = 0.8,
        bad: float = 0.3,
        noise: float = 0.0,
        rng: np.random.Generator | None = None,
    ):
        if (preferred is None) == (score is None):
            raise InputDataError("give exactly one of preferred (a template) or score (a callable)")
        if not good > bad:
            raise InputDataError(f"need good > bad, got good={good!r}, bad={bad!r}")
        if noise < 0 or (noise > 0 and rng is None):
            raise InputDataError("noise must be >= 0, and noise > 0 needs an rng")
        self.preferred = None if preferred is None else np.asarray(preferred, dtype=float)
        self.score_fn, self.good, self.bad = score, float(good), float(bad)
        self.noise, self.rng = float(noise), rng

    def score(self, spectrum: np.ndarray, axis: np.ndarray) -> float:
        r"""Return the expert's liking :math:`\rho` of one spectrum (before noise)."""
        if self.score_fn is not None:
            return float(self.score_fn(np.asarray(spectrum, dtype=float), np.asarray(axis)))
        preferred = self.preferred
        if preferred is None:  # __init__ requires one of score and preferred
            raise InputDataError("this voter has neither a score function nor a template")
        if np.shape(spectrum) != preferred.shape:
            raise InputDataError(f"spectrum {np.shape(spectrum)} vs template {preferred.shape}")
        return _pearson(np.asarray(spectrum, dtype=float), preferred)

    def __call__(self, spectrum: np.ndarray, axis: np.ndarray, info: dict | None = None) -> int:
        """Vote on one spectrum."""
        rho = self.score(spectrum, axis)
        if self.noise and self.rng is not None:  # __init__ requires an rng for noise > 0
            rho += float(self.rng.normal(0.0, self.noise))
        return 2 if rho >= self.good else (0 if rho < self.bad else 1)
