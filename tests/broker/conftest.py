"""Fixtures for the simulated market tests."""

from __future__ import annotations

import pytest

from engine.broker.sim import SimBroker
from engine.model import Instrument
from tests.broker.simdata import TUESDAY_OPEN, by_ticker


@pytest.fixture
def sber() -> Instrument:
    return by_ticker("SBER")


@pytest.fixture
def broker() -> SimBroker:
    return SimBroker(seed=7, start=TUESDAY_OPEN, realtime=False)
