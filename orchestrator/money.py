"""Dollar amounts as people read them, the same in the CLI, the job log and the dashboard."""

from __future__ import annotations

import math

__all__ = ["usd", "usd_exact"]

_MAX_DECIMALS = 6


def usd(value: float) -> str:
    """A dollar amount by its magnitude, as the dashboard shows it: cents from $1 up, three
    significant digits below, so a non-zero amount never reads "$0.00" ($0.003, $0.0123)."""
    sign, v = ("-" if value < 0 else ""), abs(value)
    if v == 0:
        return "$0.00"
    if v >= 1:
        return f"{sign}${v:,.2f}"
    if v < 10**-_MAX_DECIMALS:
        return f"{sign}<${10**-_MAX_DECIMALS:.{_MAX_DECIMALS}f}"
    decimals = min(_MAX_DECIMALS, max(2, 2 - math.floor(math.log10(v))))
    return f"{sign}${_trim(f'{v:,.{decimals}f}')}"


def usd_exact(value: float) -> str:
    """A cap exactly as set: every digit it has (up to a millionth), at least cents."""
    sign = "-" if value < 0 else ""
    return f"{sign}${_trim(f'{abs(value):,.{_MAX_DECIMALS}f}')}"


def _trim(number: str) -> str:
    whole, _, frac = number.partition(".")
    return f"{whole}.{frac.rstrip('0').ljust(2, '0')}"
