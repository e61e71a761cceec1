"""Long-lived T-Invest streams that survive drops and stalls: what both streams share.

:class:`~engine.broker.tinvest.market_stream.MarketStream` keeps one ``MarketDataStream`` open for 1-minute (and other) candles, last
prices, trading statuses, order books and the tape (anonymous trades). Subscriptions live in its own registry, so after every reconnect it
resubscribes everything, then fills the gap with ``GetCandles`` (the ``backfill`` callback) before
reading the stream again: the engine sees every closed bar exactly once, in order. Candles are
provisional (``BarEvent(closed=False)``) until a candle with a newer time arrives, which closes the
previous one (``BarEvent(closed=True)``); anything at or before the last closed time is dropped.

:class:`~engine.broker.tinvest.order_stream.OrderStream` keeps ``OrderStateStream`` open for order states and fills; while it is down a
polling fallback (``poll`` callback) asks for the states of the tracked orders.

Both ask the server for pings every ``ping_interval`` seconds and treat ``stall_factor`` intervals
without any message as a stalled stream: they drop it and reconnect with exponential backoff and
jitter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from engine.broker.base import BrokerEvent
from engine.broker.tinvest.proto import investapi_pb2 as pb

Emit = Callable[[BrokerEvent], None]


class StreamStalled(Exception):
    pass


@dataclass(slots=True)
class StreamPolicy:
    ping_interval: float = 5.0  # requested server ping interval, seconds
    stall_factor: float = 3.0  # no message for this many intervals: stalled
    backoff_base: float = 0.5
    backoff_max: float = 30.0

    @property
    def stall_after(self) -> float:
        return self.ping_interval * self.stall_factor

    @property
    def ping_delay_ms(self) -> int:
        """The interval asked of the server: the service takes 5 s to 180 s (clamped to that)."""
        return min(180_000, max(5_000, int(self.ping_interval * 1000)))


@dataclass(slots=True)
class StreamStats:
    connects: int = 0
    drops: int = 0
    stalls: int = 0
    backfilled: int = 0
    trades_backfilled: int = 0  # trades of the tape recovered with GetLastTrades after a drop
    last_error: str = ""
    reasons: list[str] = field(default_factory=list)


def now() -> datetime:
    return datetime.now(UTC)


def action(subscribe: bool) -> Any:
    """The subscription action of a market-data request."""
    return pb.SUBSCRIPTION_ACTION_SUBSCRIBE if subscribe else pb.SUBSCRIPTION_ACTION_UNSUBSCRIBE


__all__ = ["Emit", "StreamPolicy", "StreamStalled", "StreamStats", "action", "now"]
