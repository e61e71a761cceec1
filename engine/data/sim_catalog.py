"""The instruments of the embedded simulated market and their generation profiles.

Uids and figis are made up (``sim-...`` / ``SIM...``) so that they can never be mistaken for real
broker identifiers. Prices, lots and steps are close to the real MOEX ones (TQBR board).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from engine.model import Instrument


@dataclass(frozen=True, slots=True)
class SimProfile:
    """How the generator moves one instrument."""

    base_price: float  # the level the daily walk starts at and reverts to (RUB per share)
    daily_vol: float  # standard deviation of the daily log return
    minute_volume: float  # average volume per minute, in lots


def _share(ticker: str, name: str, lot: int, step: str, number: int) -> Instrument:
    return Instrument(
        exchange="MOEX",
        category="SHARE",
        ticker=ticker,
        uid=f"sim-{ticker.lower()}-{number:04d}",
        figi=f"SIM{ticker.upper():0<6}{number:03d}",
        class_code="TQBR",
        lot=lot,
        step=Decimal(step),
        currency="rub",
        name=name,
    )


SIM_INSTRUMENTS: tuple[Instrument, ...] = (
    _share("SBER", "Sberbank (simulated)", 10, "0.01", 1),
    _share("GAZP", "Gazprom (simulated)", 10, "0.01", 2),
    _share("LKOH", "Lukoil (simulated)", 1, "0.5", 3),
    _share("ROSN", "Rosneft (simulated)", 1, "0.05", 4),
    _share("GMKN", "Nornickel (simulated)", 10, "0.02", 5),
    _share("YDEX", "Yandex (simulated)", 1, "0.5", 6),
)

SIM_PROFILES: dict[str, SimProfile] = {
    "SBER": SimProfile(300.0, 0.018, 5000.0),
    "GAZP": SimProfile(130.0, 0.020, 4000.0),
    "LKOH": SimProfile(7000.0, 0.015, 300.0),
    "ROSN": SimProfile(550.0, 0.017, 400.0),
    "GMKN": SimProfile(120.0, 0.020, 3000.0),
    "YDEX": SimProfile(4000.0, 0.022, 200.0),
}

_DEFAULT_PROFILE_VOL = 0.02
_DEFAULT_PROFILE_VOLUME = 500.0


def profile_for(instrument: Instrument) -> SimProfile:
    """The catalog profile, or a neutral one (about 1000 price steps) for other instruments."""
    profile = SIM_PROFILES.get(instrument.ticker.upper())
    if profile is not None:
        return profile
    return SimProfile(float(instrument.step) * 1000, _DEFAULT_PROFILE_VOL, _DEFAULT_PROFILE_VOLUME)
