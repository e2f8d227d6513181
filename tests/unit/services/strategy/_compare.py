"""One definition of "equal to TA-Lib" for every indicator test."""

from __future__ import annotations

from typing import Any

import numpy as np

RTOL = 1e-9


def first_valid(values: Any) -> int:
    valid = ~np.isnan(np.asarray(values, dtype=np.float64))
    return int(np.argmax(valid)) if valid.any() else len(valid)


def assert_matches(ours: Any, theirs: Any, *, scale: float = 0.0, label: str = "") -> None:
    """Same warm-up (NaN at the same bars) and |ours - theirs| <= 1e-9 * max(|theirs|, scale).

    `scale` is 0 (purely relative) except for bounded oscillators whose true value is 0,
    where both sides hold only rounding residue (~1e-14 on a 0..100 scale) of opposite sign:
    there the tolerance is 1e-9 of the indicator's range.
    """
    a, b = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    assert a.shape == b.shape, (label, a.shape, b.shape)
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    assert (nan_a == nan_b).all(), (
        f"{label}: warm-up differs (first value at {first_valid(a)} vs {first_valid(b)})")
    mask = ~nan_b
    if not mask.any():
        return
    error = np.abs(a[mask] - b[mask])
    bound = RTOL * np.maximum(np.abs(b[mask]), scale)
    worst = int(np.argmax(error - bound))
    assert (error <= bound).all(), (
        f"{label}: {int((error > bound).sum())} values off, worst at bar "
        f"{int(np.flatnonzero(mask)[worst])}: {a[mask][worst]!r} vs {b[mask][worst]!r}")
