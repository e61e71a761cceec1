"""The embedded simulated market: deterministic MOEX-like bars replayed on a clock, and SimBroker.

This is what avin runs on when no token is configured. Public API:

- ``SIM_INSTRUMENTS``: SBER, GAZP, LKOH, ROSN, GMKN, YDEX (TQBR, made-up ``sim-...`` uids).
- ``generate_bars(instrument, begin, end, seed=DEFAULT_SEED) -> polars.DataFrame`` and
  ``generate_bar_list(...) -> list[Bar]``: 1-minute bars, main session 07:00-15:40 UTC.
- ``SimMarket(instruments, seed=, speed=, start=)``: the replay clock (``step``, ``advance``,
  ``advance_to``, ``run``); ``DEFAULT_SPEED`` = 240 simulated seconds per real second.
- ``MatchingEngine``: synchronous order matching on prices or bars (reused by the backtester).
- ``SimBroker(seed=, speed=, start=, instruments=, commission=, cash=, realtime=)``: the Broker.
"""

from engine.broker.sim.broker import DEFAULT_CASH, SIM_ACCOUNT_ID, SimBroker
from engine.broker.sim.catalog import SIM_INSTRUMENTS, SIM_PROFILES, SimProfile, profile_for
from engine.broker.sim.generator import (
    DEFAULT_SEED,
    BarGenerator,
    DayBars,
    daily_anchor,
    generate_bar_list,
    generate_bars,
    generate_day,
)
from engine.broker.sim.market import (
    DEFAULT_SPEED,
    TICKS_PER_MINUTE,
    MarketTick,
    SimMarket,
    tick_path,
)
from engine.broker.sim.matching import (
    DEFAULT_COMMISSION,
    MatchingEngine,
    bar_path,
    check_order,
    commission_for,
)
from engine.broker.sim.session import (
    SESSION_CLOSE,
    SESSION_MINUTES,
    SESSION_OPEN,
    default_start,
    is_open,
    next_session_minute,
)

__all__ = [
    "DEFAULT_CASH",
    "DEFAULT_COMMISSION",
    "DEFAULT_SEED",
    "DEFAULT_SPEED",
    "SESSION_CLOSE",
    "SESSION_MINUTES",
    "SESSION_OPEN",
    "SIM_ACCOUNT_ID",
    "SIM_INSTRUMENTS",
    "SIM_PROFILES",
    "TICKS_PER_MINUTE",
    "BarGenerator",
    "DayBars",
    "MarketTick",
    "MatchingEngine",
    "SimBroker",
    "SimMarket",
    "SimProfile",
    "bar_path",
    "check_order",
    "commission_for",
    "daily_anchor",
    "default_start",
    "generate_bar_list",
    "generate_bars",
    "generate_day",
    "is_open",
    "next_session_minute",
    "profile_for",
    "tick_path",
]
