"""Deterministic 1-minute bars for the simulated market.

Every trading day is a pure function of ``(seed, instrument, day)``, so any day can be generated on
its own, in any order, in about a tenth of a millisecond (numpy, vectorised).

How a day is built:

1. **Daily walk.** For each (seed, ticker) one random stream gives the log level of the daily close
   for every trading day since ``ANCHOR`` (2000-01-03): a mean-reverting AR(1) around the profile's
   base price, ``x[d] = (1 - REVERSION) * x[d-1] + daily_vol * N(0, 1)``, ``close[d] =
   base * exp(x[d])``. It is computed once per (seed, ticker) and cached.
2. **Open from the previous close.** The day's open is the previous trading day's (exact) close
   times ``exp(gap)``, the overnight gap ``gap ~ N(0, GAP_VOL * daily_vol)`` drawn from the day's own
   random stream. So days are continuous: a day's first open is the last close plus a small gap.
3. **Intraday path.** A Brownian bridge in log price from the open to the close over the session's
   520 minutes, with a U-shaped volatility profile (busy open, quiet midday, busier close).
   Minute ``i`` opens at minute ``i-1``'s close; highs and lows add a random excursion beyond the
   body scaled by that minute's volatility. Volume follows the same U shape, grows with the size
   of the move and is whole lots.
4. **Rounding.** Prices are rounded to the instrument's step (a monotone rounding, so OHLC stays
   valid) and never below one step.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

import numpy as np
import polars as pl

from engine.broker.sim.session import (
    SESSION_MINUTES,
    is_trading_day,
    session_open,
    trading_days,
)
from engine.data.sim_catalog import profile_for
from engine.model import Bar, Instrument, as_utc

DEFAULT_SEED = 42
ANCHOR = date(2000, 1, 3)  # a Monday: trading day index 0
WALK_DAYS = 16_000  # trading days covered by the daily walk (until about 2061)
REVERSION = 0.01  # daily pull of the log level towards the base price (half-life ~70 days)
GAP_VOL = 0.25  # overnight gap, as a fraction of the daily volatility
WICK = 0.6  # high/low excursion beyond the body, in units of the minute's volatility

_NS_PER_MINUTE = 60 * 1_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SCHEMA: dict[str, pl.DataType] = {
    "ts": pl.Datetime("ns", "UTC"),
    "open": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "close": pl.Float64(),
    "volume": pl.Int64(),
}


@dataclass(frozen=True, slots=True)
class DayBars:
    """Bars as arrays (``ts`` in ns since the epoch, frame starts): one session, or a range."""

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __len__(self) -> int:
        return len(self.ts)

    def bar(self, i: int) -> Bar:
        return Bar(
            ts=_EPOCH + timedelta(microseconds=int(self.ts[i]) // 1000),
            open=float(self.open[i]),
            high=float(self.high[i]),
            low=float(self.low[i]),
            close=float(self.close[i]),
            volume=int(self.volume[i]),
        )

    def to_bars(self) -> list[Bar]:
        return [
            Bar(_EPOCH + timedelta(microseconds=t // 1000), o, h, low, c, v)
            for t, o, h, low, c, v in zip(
                self.ts.tolist(),
                self.open.tolist(),
                self.high.tolist(),
                self.low.tolist(),
                self.close.tolist(),
                self.volume.tolist(),
                strict=True,
            )
        ]

    def to_frame(self) -> pl.DataFrame:
        """A polars DataFrame with the Parquet store's schema (``SCHEMA``)."""
        frame = pl.DataFrame(
            {
                "ts": self.ts,
                "open": self.open,
                "high": self.high,
                "low": self.low,
                "close": self.close,
                "volume": self.volume,
            },
            schema={**SCHEMA, "ts": pl.Int64()},
        )
        return frame.with_columns(pl.col("ts").cast(pl.Datetime("ns")).dt.replace_time_zone("UTC"))

    def slice(self, lo: int, hi: int) -> DayBars:
        return DayBars(
            self.ts[lo:hi],
            self.open[lo:hi],
            self.high[lo:hi],
            self.low[lo:hi],
            self.close[lo:hi],
            self.volume[lo:hi],
        )

    @staticmethod
    def empty() -> DayBars:
        nothing = np.empty(0)
        none = np.empty(0, np.int64)
        return DayBars(none, nothing, nothing, nothing, nothing, none)

    @staticmethod
    def concat(parts: list[DayBars]) -> DayBars:
        if not parts:
            return DayBars.empty()
        if len(parts) == 1:
            return parts[0]
        return DayBars(
            np.concatenate([p.ts for p in parts]),
            np.concatenate([p.open for p in parts]),
            np.concatenate([p.high for p in parts]),
            np.concatenate([p.low for p in parts]),
            np.concatenate([p.close for p in parts]),
            np.concatenate([p.volume for p in parts]),
        )


def trading_day_index(day: date) -> int:
    """Index of a weekday among the weekdays since ``ANCHOR``."""
    days = (day - ANCHOR).days
    index = (days // 7) * 5 + min(days % 7, 5)
    if not is_trading_day(day):
        raise ValueError(f"{day} is not a trading day")
    if not 0 <= index < WALK_DAYS:
        raise ValueError(f"{day} is outside the simulated calendar ({ANCHOR} and ~60 years on)")
    return index


def _ticker_key(instrument: Instrument) -> int:
    return zlib.crc32(instrument.ticker.upper().encode())


def _seed_key(seed: int) -> int:
    return seed % (1 << 63)


@lru_cache(maxsize=64)
def _daily_walk(seed: int, ticker_key: int, daily_vol: float) -> np.ndarray:
    rng = np.random.default_rng([_seed_key(seed), ticker_key])
    shocks = rng.standard_normal(WALK_DAYS) * daily_vol
    levels = np.empty(WALK_DAYS)
    level = 0.0
    keep = 1.0 - REVERSION
    for i in range(WALK_DAYS):
        level = keep * level + shocks[i]
        levels[i] = level
    return levels


@lru_cache(maxsize=1)
def _profiles() -> tuple[np.ndarray, np.ndarray]:
    """(volatility weights, volume weights) per session minute, both U-shaped, mean 1."""
    u = np.linspace(0.0, 1.0, SESSION_MINUTES)
    vol = 0.6 + 1.6 * np.exp(-u / 0.05) + 0.8 * np.exp(-(1.0 - u) / 0.06)
    volume = 0.5 + 2.5 * np.exp(-u / 0.07) + 1.5 * np.exp(-(1.0 - u) / 0.05)
    return vol / vol.mean(), volume / volume.mean()


def daily_anchor(seed: int, instrument: Instrument, day: date) -> tuple[float, float]:
    """The exact (unrounded) (open, close) of ``day``; open = previous close * exp(gap)."""
    profile = profile_for(instrument)
    index = trading_day_index(day)
    walk = _daily_walk(seed, _ticker_key(instrument), profile.daily_vol)
    log_base = np.log(profile.base_price)
    log_prev = log_base + (walk[index - 1] if index > 0 else 0.0)
    rng = _day_rng(seed, instrument, index)
    gap = rng.standard_normal() * GAP_VOL * profile.daily_vol
    return float(np.exp(log_prev + gap)), float(np.exp(log_base + walk[index]))


def _day_rng(seed: int, instrument: Instrument, index: int) -> np.random.Generator:
    return np.random.default_rng([_seed_key(seed), _ticker_key(instrument), index, 1])


def _round_to_step(prices: np.ndarray, step: Decimal) -> np.ndarray:
    step_f = float(step)
    decimals = max(0, -int(step.normalize().as_tuple().exponent))
    rounded = np.floor(prices / step_f + 0.5) * step_f
    return np.round(np.maximum(rounded, step_f), decimals)


@lru_cache(maxsize=2048)
def generate_day(seed: int, instrument: Instrument, day: date) -> DayBars:
    """The session's 1-minute bars of ``day`` (empty on weekends). Cached; treat as read-only."""
    if not is_trading_day(day):
        return DayBars.empty()
    profile = profile_for(instrument)
    index = trading_day_index(day)
    walk = _daily_walk(seed, _ticker_key(instrument), profile.daily_vol)
    log_base = np.log(profile.base_price)
    log_prev = log_base + (walk[index - 1] if index > 0 else 0.0)
    log_close = log_base + walk[index]
    rng = _day_rng(seed, instrument, index)
    gap = rng.standard_normal() * GAP_VOL * profile.daily_vol  # first draw: see daily_anchor
    log_open = log_prev + gap

    vol_w, volume_w = _profiles()
    n = SESSION_MINUTES
    sigma = profile.daily_vol * vol_w / np.sqrt(np.sum(vol_w**2))  # sum of variances = daily var
    steps = sigma * rng.standard_normal(n)
    walk_in_day = np.cumsum(steps)
    var_share = np.cumsum(sigma**2) / np.sum(sigma**2)
    path = log_open + walk_in_day - var_share * (walk_in_day[-1] - (log_close - log_open))
    closes = np.exp(path)
    opens = np.concatenate(([np.exp(log_open)], closes[:-1]))
    wick_up = np.exp(sigma * WICK * np.abs(rng.standard_normal(n)))
    wick_down = np.exp(-sigma * WICK * np.abs(rng.standard_normal(n)))
    highs = np.maximum(opens, closes) * wick_up
    lows = np.minimum(opens, closes) * wick_down

    move = np.abs(np.log(closes / opens)) / sigma
    noise = rng.lognormal(0.0, 0.5, n)
    volume = np.floor(profile.minute_volume * volume_w * (0.6 + 0.4 * move) * noise).astype(
        np.int64
    )

    start_ns = int(session_open(day).timestamp()) * 1_000_000_000
    ts = start_ns + np.arange(n, dtype=np.int64) * _NS_PER_MINUTE
    step = instrument.step
    return DayBars(
        ts=ts,
        open=_round_to_step(opens, step),
        high=_round_to_step(highs, step),
        low=_round_to_step(lows, step),
        close=_round_to_step(closes, step),
        volume=volume,
    )


def _ns(ts: datetime) -> int:
    return (as_utc(ts) - _EPOCH) // timedelta(microseconds=1) * 1000


class BarGenerator:
    """1-minute bars of the simulated market for one seed."""

    def __init__(self, seed: int = DEFAULT_SEED) -> None:
        self.seed = seed

    def day(self, instrument: Instrument, day: date) -> DayBars:
        return generate_day(self.seed, instrument, day)

    def arrays(self, instrument: Instrument, begin: datetime, end: datetime) -> DayBars:
        """1-minute bars with ``begin <= ts < end`` as arrays."""
        begin_ns, end_ns = _ns(begin), _ns(end)
        parts: list[DayBars] = []
        if end_ns > begin_ns:
            for day in trading_days(as_utc(begin).date(), as_utc(end).date()):
                part = self.day(instrument, day)
                lo = int(np.searchsorted(part.ts, begin_ns, side="left"))
                hi = int(np.searchsorted(part.ts, end_ns, side="left"))
                if hi > lo:
                    parts.append(part.slice(lo, hi))
        return DayBars.concat(parts)

    def bars(self, instrument: Instrument, begin: datetime, end: datetime) -> pl.DataFrame:
        """1-minute bars with ``begin <= ts < end`` (the Parquet store's schema)."""
        return self.arrays(instrument, begin, end).to_frame()

    def bar_list(self, instrument: Instrument, begin: datetime, end: datetime) -> list[Bar]:
        """As :meth:`bars`, as a list of :class:`Bar` (aware UTC timestamps)."""
        return self.arrays(instrument, begin, end).to_bars()


def generate_bars(
    instrument: Instrument, begin: datetime, end: datetime, *, seed: int = DEFAULT_SEED
) -> pl.DataFrame:
    """1-minute bars with ``begin <= ts < end`` as a polars DataFrame (ts, open..close, volume)."""
    return BarGenerator(seed).bars(instrument, begin, end)


def generate_bar_list(
    instrument: Instrument, begin: datetime, end: datetime, *, seed: int = DEFAULT_SEED
) -> list[Bar]:
    """As :func:`generate_bars`, as a list of :class:`Bar`."""
    return BarGenerator(seed).bar_list(instrument, begin, end)
