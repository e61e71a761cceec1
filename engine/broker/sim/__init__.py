"""The embedded simulated market: deterministic MOEX-like bars replayed on a clock, and SimBroker.

This is what avin runs on when no token is configured. Public API (kept stable):

- ``SIM_INSTRUMENTS``: SBER, GAZP, LKOH, ROSN, GMKN, YDEX (TQBR, made-up ``sim-...`` uids).
- ``generate_bars(instrument, begin, end, *, seed=DEFAULT_SEED) -> polars.DataFrame`` (ts, open,
  high, low, close, volume: the Parquet store's schema) and ``generate_bar_list(...) -> list[Bar]``:
  1-minute bars of the main session, 07:00-15:40 UTC, weekdays. ``generate_day(seed, instrument,
  day)`` gives one session as arrays.
- ``SimMarket(instruments=SIM_INSTRUMENTS, *, seed=, speed=DEFAULT_SPEED, start=None)``: the replay
  clock. ``now``, ``is_open``, ``step()``, ``advance(minutes)``, ``advance_to(ts)`` (no sleeping)
  and ``async run()`` (real time). ``DEFAULT_SPEED`` = 240 simulated seconds per real second: one
  simulated minute (6 price ticks and a close) every 0.25 s.
- ``MatchingEngine(commission_rate, *, slippage_ticks=0)``: synchronous matching on prices
  (``on_price``) or bars (``on_bar``), reusable by the backtester; ``check_order`` gives
  rejection reasons.
- ``SimBroker(*, seed=, speed=, start=, instruments=, commission=Decimal("0.0005"),
  cash=Decimal(1_000_000), realtime=True)``: the Broker. ``connect()`` starts the real-time
  replay when ``realtime``; with ``realtime=False`` drive it with ``step()`` / ``advance()`` and
  read events with ``drain()``. Simulated time is ``broker.market.now`` (``market_time()``).
"""

from engine.broker.sim.broker import DEFAULT_CASH, SIM_ACCOUNT_ID, SimBroker
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
from engine.data.sim_catalog import SIM_INSTRUMENTS, SIM_PROFILES, SimProfile, profile_for

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
