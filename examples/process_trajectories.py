"""Which annealing schedule gives the best film? DKL over candidate process curves, no images.

The candidates are not pixels but whole processes: 1,500 annealing schedules, each a
temperature curve T(t) sampled at 96 times over 6 h (heat at 20 K/min, hold at ``T_hold`` for
``t_hold``, cool at ``rate``). "Measuring" one means growing a film with it; here a small
physical model stands in for the furnace:

- crystallinity  X = 1 - exp(-(∫ k0 exp(-Ea / kB T(t)) dt)^2)   (Avrami, n = 2)
- decomposition  D = ∫ k1 exp(-Ed / kB T(t)) dt                 (Ed > Ea: only when hot)
- quench cracks  C = 0.4 (1 - exp(-max(0, rate - 8 K/min) / 10 K/min))
- film quality   Q = X · exp(-D) - C                            (dimensionless, 0..1)

so the best schedule is hot enough and long enough to crystallise, not so hot or long that
the film decomposes, and cooled gently. ``DKLRecommender.from_features`` learns Q from the
curves themselves (an MLP on the 96 temperatures → a Gaussian process), so the same code
works for any process whose candidates are trajectories (gas flows, pressure ramps, pulses).

Run:  python examples/process_trajectories.py      (about 20 s on 2 CPU cores)
"""

from __future__ import annotations

import numpy as np

from autoscope.recommender import DKLRecommender
from autoscope.report import random_median_steps

KB = 8.617e-5  # Boltzmann constant, eV/K
T0, HEAT_RATE = 300.0, 20.0  # start temperature (K) and heating rate (K/min)
TIMES = np.linspace(0.0, 360.0, 96)  # min


def schedule(t_hold: float, hold: float, rate: float) -> np.ndarray:
    """Temperature (K) at ``TIMES`` for one schedule: heat, hold, cool."""
    t_up = (t_hold - T0) / HEAT_RATE
    up = T0 + HEAT_RATE * TIMES
    down = t_hold - rate * (TIMES - t_up - hold)
    return np.where(TIMES < t_up, up, np.where(TIMES < t_up + hold, t_hold, np.maximum(down, T0)))


def film_quality(temps: np.ndarray, rate: float) -> float:
    """The furnace: crystallinity times survival against decomposition, minus quench cracks."""
    dt = TIMES[1] - TIMES[0]
    growth = np.sum(2.0e5 * np.exp(-1.0 / (KB * temps))) * dt  # Ea = 1.0 eV
    decomposition = np.sum(4.0e8 * np.exp(-1.8 / (KB * temps))) * dt  # Ed = 1.8 eV
    cracks = 0.4 * (1.0 - np.exp(-max(0.0, rate - 8.0) / 10.0))
    return float((1.0 - np.exp(-(growth**2))) * np.exp(-decomposition) - cracks)


def candidates() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every schedule: parameters (N, 3), curves (N, 96) and the true quality (N,)."""
    params = np.array(
        [
            (th, hold, rate)
            for th in np.arange(600.0, 1100.1, 20.0)  # hold temperature, K (26)
            for hold in np.arange(5.0, 60.1, 5.0)  # hold time, min (12)
            for rate in (2.0, 5.0, 10.0, 20.0, 40.0)  # cooling rate, K/min (5)
        ]
    )
    curves = np.stack([schedule(*p) for p in params])
    quality = np.array([film_quality(c, p[2]) for c, p in zip(curves, params, strict=True)])
    return params, curves, quality


def main(budget: int = 30, n_seed: int = 6, seed: int = 0) -> dict:
    params, curves, quality = candidates()
    n = len(params)
    top = quality >= np.sort(quality)[-max(1, n // 100)]  # the true best 1 % of schedules
    rec = DKLRecommender.from_features(curves, policy="ei", seed=seed)
    rng = np.random.default_rng(seed)
    measured = [int(i) for i in rng.choice(n, n_seed, replace=False)]  # random seed schedules
    rec.ingest([{"_id": i, "value": quality[i]} for i in measured])
    while len(measured) < budget:
        (pt,) = rec.suggest(1)
        i = int(pt["_id"])
        rec.ingest([{"_id": i, "value": quality[i]}])  # grow the film, measure its quality
        measured.append(i)
    hits = [k + 1 for k, i in enumerate(measured) if top[i]]
    best = measured[int(np.argmax(quality[measured]))]
    mean, var = rec.predict()
    print(f"{n} candidate schedules; true best quality {quality.max():.3f}")
    th, hold, rate = params[best]
    print(
        f"best found after {budget} films: Q = {quality[best]:.3f} "
        f"(hold {th:.0f} K for {hold:.0f} min, cool at {rate:g} K/min)"
    )
    print(f"first schedule of the true top 1 % grown at film {hits[0] if hits else 'none'}")
    print(f"a random order needs a median of {random_median_steps(n, int(top.sum()))} films")
    corr = np.corrcoef(mean, quality)[0, 1]
    print(f"model's predicted quality vs the truth over all schedules: r = {corr:.2f}")
    return {"quality": quality, "measured": measured, "hits": hits, "best": best, "corr": corr}


if __name__ == "__main__":
    main()
