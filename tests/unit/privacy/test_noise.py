"""The noise added to audience figures is OpenDP's discrete Laplace of scale 1/epsilon, centred on the truth, and
no figure below 50 is ever released."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from kleline.privacy import noise
from kleline.privacy.audience_model import MINIMUM

DRAWS = 12_000
TRUTH = 1_000
# Chi-square critical value at p = 1e-4 for 12 degrees of freedom (13 bins): a correct sampler fails one run in
# 10,000; noise of scale 1 instead of 2, or of 3, fails every run (checked below on those very bins).
CHI2_CRITICAL = 37.0


def _pmf(k: int, scale: float) -> float:
    """The discrete Laplace's probability of a noise of ``k``: (1 - a) / (1 + a) * a^|k|, a = exp(-1/scale)."""
    a = math.exp(-1 / scale)
    return (1 - a) / (1 + a) * a ** abs(k)


def _bins(scale: float) -> list[tuple[range | None, float]]:
    """Noise values -6..6 alone (each expects > 100 draws at scale 2), the two tails pooled into the outer bins."""
    tail = sum(_pmf(k, scale) for k in range(7, 200))
    inner = [(range(k, k + 1), _pmf(k, scale)) for k in range(-5, 6)]
    return [(None, _pmf(-6, scale) + tail), *inner, (None, _pmf(6, scale) + tail)]


def _chi_square(draws: list[int], scale: float) -> float:
    counts = Counter(max(-6, min(6, d - TRUTH)) for d in draws)
    bins = _bins(scale)
    observed = [counts[k] for k in range(-6, 7)]
    return sum((o - DRAWS * p) ** 2 / (DRAWS * p) for o, (_, p) in zip(observed, bins, strict=True))


@pytest.fixture(scope="module")
def draws() -> list[int]:
    return [noise.noisy_count(TRUTH, 500) for _ in range(DRAWS)]


def test_the_noise_follows_the_discrete_laplace_of_scale_one_over_epsilon(draws: list[int]) -> None:
    assert _chi_square(draws, 2.0) < CHI2_CRITICAL
    assert _chi_square(draws, 1.0) > CHI2_CRITICAL and _chi_square(draws, 3.0) > CHI2_CRITICAL


def test_the_noise_is_centred_with_the_variance_of_its_scale(draws: list[int]) -> None:
    a = math.exp(-1 / 2)
    variance = 2 * a / (1 - a) ** 2  # 7.83 at scale 2
    mean = sum(draws) / DRAWS
    observed = sum((d - mean) ** 2 for d in draws) / (DRAWS - 1)
    # Five standard errors: sd of the mean is sqrt(7.83 / 12,000) = 0.026; of the variance about 0.17 here.
    assert abs(mean - TRUTH) < 0.13
    assert abs(observed - variance) < 0.9
    assert all(isinstance(d, int) for d in draws[:10])


def test_opendp_confirms_each_release_costs_its_epsilon() -> None:
    assert noise.measurement(500).map(d_in=1) == pytest.approx(0.5)
    assert noise.measurement(250).map(d_in=1) == pytest.approx(0.25)


def test_no_figure_below_the_minimum_is_ever_released() -> None:
    released = [noise.release(count, 500) for count in (0, 1, 30, 45, 49, 50, 52, 55) for _ in range(400)]
    assert all(value is None or value >= MINIMUM for value in released)
    # The threshold is on the noisy value: a true 49 is sometimes shown (as 50 or more), a true 52 sometimes hidden.
    assert any(noise.release(49, 500) is not None for _ in range(400))
    assert any(noise.release(52, 500) is None for _ in range(400))
