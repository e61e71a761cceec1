"""Shared test data for the simulated market tests."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.broker.sim import SIM_INSTRUMENTS
from engine.model import Instrument

TUESDAY_OPEN = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)  # a Tuesday, main-session open


def by_ticker(ticker: str) -> Instrument:
    return next(i for i in SIM_INSTRUMENTS if i.ticker == ticker)
