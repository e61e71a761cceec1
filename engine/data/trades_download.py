"""``avin data download TICKER --trades``: the broker's recent tape into the tick store.

T-Invest's GetLastTrades gives the anonymous trades of the last hour only, so this fetches that
hour (the broker's ``last_trades``; while the market is closed, the hour before its last trade)
and merges it into ``ticks/<CODE>/<day>.parquet`` like the
recorder does (idempotent: a second run adds only trades the first did not have). Older trades
exist only if the robot recorded them while it ran (docs/data.md, "Ticks").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.data.errors import DataError
from engine.data.ticks import TickStore

REACH = timedelta(hours=1)


def wall_clock() -> datetime:
    """The time the last hour is counted back from (the service's clock is the wall clock)."""
    return datetime.now(UTC)


@dataclass(slots=True)
class TradesResult:
    code: str
    begin: datetime
    end: datetime
    trades: int = 0
    added: int = 0
    error: str = ""


async def _window(broker: Any, inst: Any, now: datetime) -> tuple[datetime, datetime]:
    """The last hour before ``now``; when the market is closed (the last trade is older than
    that), the hour before the last trade (the service may have nothing of it)."""
    end = now
    last_trade = getattr(broker, "last_trade_time", None)
    if callable(last_trade):
        when = await last_trade(inst)
        if when is not None and when < now - REACH:
            end = when + timedelta(seconds=1)
    return end - REACH, end


async def download_trades(
    tickers: Sequence[str],
    broker: Any,
    *,
    store: TickStore | None = None,
    now: datetime | None = None,
) -> list[TradesResult]:
    """Fetch the last hour of trades of each ticker and store them; one result per ticker."""
    if not callable(getattr(broker, "last_trades", None)):
        raise DataError(
            f"the {getattr(broker, 'name', 'configured')} market gives no trade history",
            "On the simulated market the tape is recorded while avin runs; with a T-Invest token "
            "(AVIN_TOKEN) this fetches the last hour of trades",
        )
    store = store if store is not None else TickStore()
    end = now if now is not None else wall_clock()
    begin = end - REACH
    source = f"broker:{getattr(broker, 'name', 'unknown')}"
    results: list[TradesResult] = []
    for ticker in tickers:
        result = TradesResult(ticker.upper(), begin, end)
        results.append(result)
        try:
            inst = await broker.find_instrument(ticker)
            result.code = inst.code
            result.begin, result.end = await _window(broker, inst, end)
            trades = await broker.last_trades(inst, result.begin, result.end)
            result.trades = len(trades)
            result.added = store.merge(inst.code, inst.uid, trades, source).added
        except Exception as exc:  # one instrument's failure must not lose the others
            describe = getattr(exc, "describe", None)
            result.error = describe() if callable(describe) else f"{type(exc).__name__}: {exc}"
    return results
