"""The differential privacy of every figure a merchant is given about people (audience sizes, offers' reach).

Mechanism: the discrete Laplace (geometric) mechanism of OpenDP (``opendp.measurements.make_laplace`` over integers),
added to an exact count of customers. One customer changes such a count by at most 1 (sensitivity 1), so noise of
scale ``1 / epsilon`` makes one release ``epsilon``-differentially private; OpenDP's own privacy map is asked to
confirm that epsilon for every scale we build (``measurement``), so that a change of OpenDP's semantics fails loudly.
Epsilon per release is a setting (``KLELINE_AUDIENCE_EPSILON_MILLI``, thousandths; 500 by default, i.e. 0.5 and a
scale of 2: the released value is within +-5 of the truth nine times out of ten), and a merchant's releases compose
within its monthly budget (``KLELINE_AUDIENCE_MONTHLY_BUDGET_MILLI``, 10,000 by default, i.e. epsilon 10: twenty
releases a month), spent before the count is read (``audience_store.spend``).

Threshold: a noisy value below ``MINIMUM`` (50) is released as "fewer than 50" (None). It is the *noisy* value that
is compared, never the exact one: post-processing a differentially private value keeps its guarantee, whereas a
threshold on the exact count would itself leak whether the truth was 49 or 50.
"""

from __future__ import annotations

import functools
from typing import Any

import opendp.prelude as dp

from kleline.privacy.audience_model import MINIMUM

__all__ = ["measurement", "noisy_count", "release"]

dp.enable_features("contrib")


@functools.cache
def measurement(epsilon_milli: int) -> Any:
    """OpenDP's discrete Laplace measurement on an integer count of sensitivity 1, for this epsilon."""
    scale = 1000 / epsilon_milli
    meas = dp.m.make_laplace(dp.atom_domain(T=int), dp.absolute_distance(T=int), scale=scale)
    spent = meas.map(d_in=1)  # type: ignore[no-untyped-call]
    if spent > epsilon_milli / 1000 * (1 + 1e-9):
        raise RuntimeError(f"OpenDP says a release costs epsilon {spent}, more than {epsilon_milli / 1000}")
    return meas


def noisy_count(count: int, epsilon_milli: int) -> int:
    """``count`` plus discrete Laplace noise of scale ``1 / epsilon``."""
    return int(measurement(epsilon_milli)(count))


def release(count: int, epsilon_milli: int) -> int | None:
    """What a merchant may be told of ``count``: its noisy value, or None ("fewer than 50") when that is below 50."""
    noisy = noisy_count(count, epsilon_milli)
    return noisy if noisy >= MINIMUM else None
