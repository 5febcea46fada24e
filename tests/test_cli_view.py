"""Amounts in the CLI and the job log read like the dashboard's: by magnitude, never a
non-zero "$0.00"."""

from __future__ import annotations

import pytest

from orchestrator.money import usd, usd_exact


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0, "$0.00"),
        (0.003, "$0.003"),
        (0.00237347, "$0.00237"),
        (0.0123, "$0.0123"),
        (0.5, "$0.50"),
        (0.123456, "$0.123"),
        (1, "$1.00"),
        (1234.5, "$1,234.50"),
        (4.5e-05, "$0.000045"),
        (1e-08, "<$0.000001"),
    ],
)
def test_usd_by_magnitude(value: float, shown: str) -> None:
    assert usd(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0.003, "$0.003"), (8, "$8.00"), (1.005, "$1.005"), (0.123456, "$0.123456")],
)
def test_a_cap_is_shown_as_set(value: float, shown: str) -> None:
    assert usd_exact(value) == shown
