"""A fake T-Invest server that speaks the real protocol (gRPC, the same package and messages).

It listens on a loopback address (an ephemeral port by default) and implements the subset of the
API avin uses, backed by the simulated market (:class:`FakeExchange`). It behaves like the real
service where it matters to a client:

- ``authorization: Bearer <token>`` is checked on every call and stream open (40003 otherwise);
- errors have the real shape: a gRPC status, the numeric code as *details*, the text in trailing
  metadata ``message`` and an ``x-tracking-id``; unary answers carry ``x-ratelimit-*`` headers;
- streams send subscription answers, candles (provisional, then a newer minute), last prices,
  trading statuses, order states and pings at the requested interval;
- :class:`Faults` break it on demand (see ``faults.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from datetime import datetime
from typing import Any

import grpc
import grpc.aio

from engine.broker.fake_tinvest.exchange import FakeExchange
from engine.broker.fake_tinvest.faults import Faults
from engine.broker.fake_tinvest.host import ServiceHost, status_for
from engine.broker.fake_tinvest.market_data import MarketDataFeed
from engine.broker.fake_tinvest.messages import METHOD_LIMITS, SERVICE_LIMITS
from engine.broker.fake_tinvest.records import ExchangeError
from engine.broker.fake_tinvest.services import (
    InstrumentsService,
    MarketDataService,
    OperationsService,
    OrdersService,
    SandboxService,
    StopOrdersService,
    UsersService,
)
from engine.broker.fake_tinvest.streams import MarketDataStreamServicer, OrdersStreamServicer
from engine.broker.tinvest.channel import is_loopback
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.broker.tinvest.proto import investapi_pb2_grpc as pb_grpc
from engine.model import Instrument

log = logging.getLogger("avin.fake_tinvest")

DEFAULT_TOKEN = "t.fake-sandbox-token-for-tests-only"
PROFILES = ("real", "sandbox")  # which service the fake behaves like
_STOP_ORDER_RPCS = frozenset({"PostStopOrder", "GetStopOrders", "CancelStopOrder"})
PING_DELAY_MS = (5000, 180000)  # the ping interval a stream may ask for (120 s by default)


def _service_of(method: str) -> str:
    for name, service in pb.DESCRIPTOR.services_by_name.items():
        if method in service.methods_by_name:
            return name
    return ""


class FakeTInvestServer:
    """The server, its exchange and its faults. Use ``async with`` or start()/stop()."""

    # Stream pings come every requested interval times this: the tests' virtual clock (their
    # client asks for 5 s, the shortest the service allows, and hears a ping every 0.1 s).
    ping_scale: float = 1.0
    # Requests a minute allowed per method or service, times this (the tests' clients run their
    # rate limiter 100 times faster, and so does the server they talk to).
    limit_scale: float = 1.0

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        host: str = "127.0.0.1",
        port: int = 0,
        exchange: FakeExchange | None = None,
        faults: Faults | None = None,
        profile: str = "real",
    ) -> None:
        if not is_loopback(host):
            raise ValueError(f"the fake server listens on loopback hosts only, not {host!r}")
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
        self.profile = profile  # "real": the production service; "sandbox": the sandbox
        self.token = token
        self.host = host
        self.port = port
        self.exchange = exchange or FakeExchange()
        self.market_data = MarketDataFeed(self.exchange)  # the tape and books (before streams)
        self.faults = faults or Faults()
        self.post_order_keys: list[str] = []  # the key of every PostOrder that reached us
        self.stream_epoch = 0  # market-data streams opened in an older epoch are dropped
        self.market_sessions: list[Any] = []  # the open market-data streams' subscriptions
        self.order_stream_epoch = 0  # the same for the order-state and trades streams
        self.errors: list[tuple[str, str, str]] = []  # (code, message, x-tracking-id) answered
        self.calls: list[str] = []  # every RPC, in order
        self.app_names: set[str] = set()  # x-app-name values seen
        self._server: grpc.aio.Server | None = None
        self._windows: dict[str, tuple[float, int]] = {}
        self._market_task: asyncio.Task[None] | None = None

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self) -> FakeTInvestServer:
        server = grpc.aio.server()
        pb_grpc.add_UsersServiceServicer_to_server(UsersService(self), server)
        pb_grpc.add_InstrumentsServiceServicer_to_server(InstrumentsService(self), server)
        pb_grpc.add_MarketDataServiceServicer_to_server(MarketDataService(self), server)
        pb_grpc.add_MarketDataStreamServiceServicer_to_server(
            MarketDataStreamServicer(self), server
        )
        pb_grpc.add_OrdersServiceServicer_to_server(OrdersService(self), server)
        pb_grpc.add_OrdersStreamServiceServicer_to_server(OrdersStreamServicer(self), server)
        pb_grpc.add_OperationsServiceServicer_to_server(OperationsService(self), server)
        if self.profile == "sandbox":
            # the sandbox has no stop orders: StopOrdersService answers UNIMPLEMENTED
            pb_grpc.add_SandboxServiceServicer_to_server(SandboxService(self), server)
        else:
            pb_grpc.add_StopOrdersServiceServicer_to_server(StopOrdersService(self), server)
        self.port = server.add_insecure_port(f"{self.host}:{self.port}")
        await server.start()
        self._server = server
        return self

    async def stop(self, grace: float | None = None) -> None:
        await self.stop_market()
        if self._server is not None:
            server, self._server = self._server, None
            await server.stop(grace)

    async def __aenter__(self) -> FakeTInvestServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- the market clock --------------------------------------------------------------------

    def step(self) -> None:
        self.exchange.step()

    def advance(self, minutes: int = 1) -> None:
        self.exchange.advance(minutes)

    def streams_candles(self, code: str) -> bool:
        """Does an open market-data stream hold a candle subscription of ``code`` (from now on a
        closing minute reaches it)? Like the service, the fake sends nobody the candles that
        closed before the subscription: a test waits for this before it moves the market."""
        return any(code in session.candles for session in self.market_sessions)

    def streams_prices(self, code: str) -> bool:
        """Does an open market-data stream hold a last-price subscription of ``code``?"""
        return any(code in session.prices for session in self.market_sessions)

    def drop_open_streams(self) -> None:
        """Drop every market-data stream open now at its next data message (GOAWAY)."""
        self.stream_epoch += 1

    def drop_order_streams_now(self) -> None:
        """Drop every order-state / trades stream open now at its next message (RST_STREAM)."""
        self.order_stream_epoch += 1

    def run_market(self) -> None:
        """Replay the market in real time (``avin sim-server``) until stop()."""
        if self._market_task is None:
            self._market_task = asyncio.get_running_loop().create_task(self.exchange.market.run())

    async def stop_market(self) -> None:
        if self._market_task is not None:
            task, self._market_task = self._market_task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # --- the call guard ----------------------------------------------------------------------

    def _authorized(self, context: grpc.aio.ServicerContext[Any, Any]) -> bool:
        ok = False
        for key, value in context.invocation_metadata() or ():
            text = value.decode() if isinstance(value, bytes) else str(value)
            if key == "authorization":
                ok = text == f"Bearer {self.token}"
            elif key == "x-app-name":
                self.app_names.add(text)
        return ok

    async def abort(
        self,
        context: grpc.aio.ServicerContext[Any, Any],
        status: grpc.StatusCode,
        code: str,
        message: str,
        extra: tuple[tuple[str, str], ...] = (),
    ) -> None:
        tracking_id = uuid.uuid4().hex
        self.errors.append((code, message, tracking_id))
        trailing = (("message", message), ("x-tracking-id", tracking_id), *extra)
        await context.abort(status, code, trailing_metadata=trailing)

    async def guard(
        self,
        context: grpc.aio.ServicerContext[Any, Any],
        method: str,
        *,
        unary: bool = True,
        order_key: str | None = None,
    ) -> None:
        """Faults, auth and rate-limit headers, as the real service does before a call.

        An UNAVAILABLE fault models a connection that never reached the service: the call is not
        recorded. Every other PostOrder records its key in ``post_order_keys``.
        """
        f = self.faults
        if f.applies(method) and f.take("unavailable_calls"):
            await context.abort(grpc.StatusCode.UNAVAILABLE, "failed to connect to all addresses")
        self.calls.append(method)
        if f.stop_orders_unavailable and method in _STOP_ORDER_RPCS:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "Method not found!")
        if order_key is not None:
            self.post_order_keys.append(order_key)
        if f.unauthenticated or not self._authorized(context):
            await self.abort(
                context,
                grpc.StatusCode.UNAUTHENTICATED,
                "40003",
                "Authentication token is missing or invalid",
            )
        if unary and f.applies(method) and f.take("rate_limit_calls"):
            reset = str(max(0, round(f.rate_limit_reset, 3)))
            await self.abort(
                context,
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                "80002",
                "Request limit exceeded",
                (("x-ratelimit-reset", reset), ("x-ratelimit-remaining", "0")),
            )
        if unary and f.applies(method) and f.take("slow_calls"):
            await asyncio.sleep(f.slow_seconds)  # the client's deadline may pass meanwhile
        if unary:
            headers, over = self._limit_headers(method)
            if over:  # the method's (or its service's) limit for this minute is used up
                await self.abort(
                    context,
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    "80002",
                    "Request limit exceeded",
                    headers[1:3],
                )
            await context.send_initial_metadata(headers)

    def _limit_headers(self, method: str) -> tuple[tuple[tuple[str, str], ...], bool]:
        """The x-ratelimit-* headers of a call and whether it is over the limit. A method with a
        limit of its own (PostOrder 300, CancelOrder 100, GetOrders 200 a minute) counts in its
        own window; the others share their service's (Orders 100, MarketData 600, ...)."""
        service = _service_of(method)
        own = (service, method) in METHOD_LIMITS
        limit = METHOD_LIMITS.get((service, method), SERVICE_LIMITS.get(service, 100))
        limit = max(1, int(limit * self.limit_scale))
        bucket = f"{service}/{method}" if own else service
        now = time.monotonic()
        start, count = self._windows.get(bucket, (now, 0))
        if now - start >= 60:
            start, count = now, 0
        count += 1
        self._windows[bucket] = (start, count)
        headers = (
            ("x-ratelimit-limit", f"{limit}, {limit};w=60"),
            ("x-ratelimit-remaining", str(max(0, limit - count))),
            ("x-ratelimit-reset", str(max(0, int(60 - (now - start))))),
            ("x-tracking-id", uuid.uuid4().hex),
        )
        return headers, count > limit

    async def fail(self, context: grpc.aio.ServicerContext[Any, Any], error: ExchangeError) -> None:
        await self.abort(context, status_for(error.code), error.code, error.message)

    @staticmethod
    def ping_delay_problem(delay_ms: int) -> str:
        """Why a requested ping interval is refused ("" when it is in range)."""
        low, high = PING_DELAY_MS
        if low <= delay_ms <= high:
            return ""
        return f"ping_delay_ms must be between {low} and {high}, got {delay_ms}"

    def ping_seconds(self, delay_ms: int) -> float:
        """Seconds between pings for a requested interval (in ms), on this server's clock."""
        return max(0.01, delay_ms / 1000 * self.ping_scale)

    def instrument(self, *ids: str) -> Instrument:
        for ident in ids:
            if ident:
                return self.exchange.instrument(ident)
        raise ExchangeError("50002", "instrument id is required")

    def now(self) -> datetime:
        return self.exchange.market.now


__all__ = ["DEFAULT_TOKEN", "FakeTInvestServer", "Faults", "ServiceHost"]
