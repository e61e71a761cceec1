"""Broker accounts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum


class Mode(Enum):
    """Where orders go: the embedded simulated market, the T-Invest sandbox, or production."""

    SIM = "sim"
    SANDBOX = "sandbox"
    LIVE = "live"


@dataclass(slots=True)
class Account:
    id: str
    name: str
    mode: Mode
    currency: str = "rub"
    cash: Decimal = Decimal(0)
