"""Statistics over a sweep's seeds: per-step mean ± std and a 95% Student-t interval, and a final-metrics table.

Pure functions on plain numbers (no database, no numpy): the router gathers the values, this module summarises
them. The t quantile is computed here (a regularised incomplete beta and bisection) because the API must not
depend on scipy for one number.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

CONFIDENCE = 0.95


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the regularised incomplete beta function (modified Lentz's method)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b) for 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    # the fraction converges fast only on this side: use the symmetry I_x(a, b) = 1 - I_{1-x}(b, a)
    return 1.0 - math.exp(log_front) * _beta_fraction(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with `df` degrees of freedom."""
    tail = 0.5 * regularized_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The p-quantile of Student's t (0.5 < p < 1), by bisection on the CDF (monotone, so this cannot miss)."""
    if not 0.5 < p < 1.0 or df <= 0:
        raise ValueError("t_quantile needs 0.5 < p < 1 and df > 0")
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12 * max(1.0, hi):
            break
    return (lo + hi) / 2.0


@dataclass(frozen=True)
class Described:
    """Mean, sample std (n - 1) and the 95% t-interval of the mean; std and interval are None for n = 1."""

    n: int
    mean: float
    std: float | None
    ci_low: float | None
    ci_high: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "n": self.n,
            "mean": self.mean,
            "std": self.std,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
        }


def describe(values: Sequence[float], confidence: float = CONFIDENCE) -> Described | None:
    """None for no values; no std or interval from a single value (one seed says nothing about the spread)."""
    n = len(values)
    if n == 0:
        return None
    mean = math.fsum(values) / n
    if n == 1:
        return Described(1, mean, None, None, None)
    if max(values) == min(values):
        return Described(n, values[0], 0.0, values[0], values[0])  # exactly, not a rounding error's 1e-17
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_quantile(0.5 + confidence / 2.0, n - 1) * std / math.sqrt(n)
    return Described(n, mean, std, mean - half, mean + half)


def band(per_run: Iterable[dict[int, float]]) -> list[dict[str, float | int | None]]:
    """Per step, over the runs that logged that step: n, mean, std and the interval (steps in order)."""
    by_step: dict[int, list[float]] = {}
    for series in per_run:
        for step, value in series.items():
            by_step.setdefault(step, []).append(value)
    rows = []
    for step in sorted(by_step):
        d = describe(by_step[step])
        if d is not None:
            rows.append({"step": step, **d.as_dict()})
    return rows
