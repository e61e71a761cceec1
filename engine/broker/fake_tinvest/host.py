"""What the fake server's services and streams need of the server that hosts them.

:class:`ServiceHost` is the server as its servicers see it (the exchange, the faults, the call
guard, the stream epochs); :class:`FakeTInvestServer` implements it. The servicers
(``services.py``, ``streams.py``) depend on this protocol, never on the server module, so the
server imports them and nothing imports the server back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, TypeAlias

import grpc
import grpc.aio

from engine.broker.fake_tinvest.exchange import FakeExchange
from engine.broker.fake_tinvest.faults import Faults
from engine.broker.fake_tinvest.market_data import MarketDataFeed
from engine.broker.fake_tinvest.records import ExchangeError
from engine.model import Instrument

Ctx: TypeAlias = grpc.aio.ServicerContext[Any, Any]

_STATUS_BY_FAMILY = {
    "3": grpc.StatusCode.INVALID_ARGUMENT,
    "4": grpc.StatusCode.PERMISSION_DENIED,
    "5": grpc.StatusCode.NOT_FOUND,
    "7": grpc.StatusCode.INTERNAL,
    "8": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "9": grpc.StatusCode.FAILED_PRECONDITION,
}
REJECT_TEXT = {
    "30078": "Price must be a multiple of the minimum price increment",
    "30099": "Price is outside the limits",
    "30034": "Not enough assets for a margin trade",
    "30052": "Instrument is not available for trading via the API",
    "30098": "Trading is not available now",
    "40002": "Insufficient privileges",
    "90003": "Order value is too high",
}


def status_for(code: str) -> grpc.StatusCode:
    """The gRPC status the service answers an API error code with (by its family)."""
    if code == "40003":
        return grpc.StatusCode.UNAUTHENTICATED
    return _STATUS_BY_FAMILY.get(code[:1], grpc.StatusCode.INTERNAL)


class ServiceHost(Protocol):
    """The server its servicers answer for."""

    exchange: FakeExchange
    market_data: MarketDataFeed  # the tape and the books
    faults: Faults
    ping_scale: float  # stream pings come every requested interval times this
    stream_epoch: int  # market-data streams opened in an older epoch are dropped
    order_stream_epoch: int  # the same for the order-state and trades streams
    market_sessions: list[Any]  # the open market-data streams' subscriptions

    async def guard(
        self, context: Ctx, method: str, *, unary: bool = True, order_key: str | None = None
    ) -> None:
        """Faults, auth and rate limits, as the real service does before a call."""
        ...

    async def abort(
        self,
        context: Ctx,
        status: grpc.StatusCode,
        code: str,
        message: str,
        extra: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """End the call with an error of the real shape (code, message, tracking id)."""
        ...

    async def fail(self, context: Ctx, error: ExchangeError) -> None:
        """End the call with the exchange's error."""
        ...

    def ping_delay_problem(self, delay_ms: int) -> str:
        """Why a requested ping interval is refused ("" when it is in range)."""
        ...

    def ping_seconds(self, delay_ms: int) -> float:
        """Seconds between pings for a requested interval (in ms), on this server's clock."""
        ...

    def instrument(self, *ids: str) -> Instrument:
        """The instrument of the first non-empty id (uid, figi, ticker or code)."""
        ...

    def now(self) -> datetime:
        """The exchange's clock."""
        ...


class Servicer:
    """A servicer of the fake server: ``self.s`` is the server it answers for."""

    def __init__(self, server: ServiceHost) -> None:
        self.s = server
