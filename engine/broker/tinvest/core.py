"""The state every role of the T-Invest adapter shares, and its lifecycle.

:class:`TInvestBroker` (``broker.py``) is one facade over a chain of roles, each in its own
module and each building on the ones before it: ``core`` (this: state, transport, event queue,
the stop-order links) <- ``instruments`` <- ``accounts`` <- ``market_data`` <- ``fills`` <-
``stops`` <- ``orders`` <- ``broker``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from engine.broker import local_stops
from engine.broker.base import BrokerError, BrokerEvent, ServerTime, TradingStatus
from engine.broker.tinvest.channel import PROD_TARGET, SANDBOX_TARGET, ChannelConfig, Transport
from engine.broker.tinvest.limiter import RateLimiter, TokenBucket
from engine.broker.tinvest.market_stream import MarketStream
from engine.broker.tinvest.order_stream import OrderStream
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.broker.tinvest.streams import StreamPolicy
from engine.model import Instrument, Mode, Order, OrderStatus
from engine.orders.journal import InMemoryJournal, IntentJournal

log = logging.getLogger("avin.tinvest")

COMMISSION_LOOKUPS_PER_MINUTE = 20  # of OrdersService's 100: orders and recovery keep the rest


@dataclass(slots=True)
class TrackedStop:
    """A stop order the adapter follows: its key, its stop order id, what it became."""

    key: str
    account: str
    stop_id: str
    order: Order | None = None  # as accepted (type, prices, strategy); None: not read yet
    child: str = ""  # the exchange order it became when its stop price was crossed
    finished: bool = False  # cancelled, expired, or the order it became is finished
    trigger: asyncio.Task[None] | None = None  # a local stop: the post of the order it becomes
    armed: bool = False  # a local stop: watched for its price in this run

    @property
    def local(self) -> bool:
        return self.stop_id == local_stops.LOCAL_STOP_ID

    @property
    def waiting(self) -> bool:
        return not self.child and not self.finished and self.trigger is None


def default_target(mode: Mode) -> str:
    if mode is Mode.LIVE:
        return PROD_TARGET
    if mode is Mode.SANDBOX:
        return SANDBOX_TARGET
    raise ValueError("the simulated market needs no T-Invest connection")


class BrokerCore:
    """Connection, journal, event queue and the bookkeeping the roles share."""

    name = "tinvest"
    market: MarketStream  # set by TInvestBroker: the streams call back into the later roles
    orders: OrderStream

    def __init__(
        self,
        token: str,
        *,
        mode: Mode = Mode.SANDBOX,
        target: str | None = None,
        app_name: str = "avin",
        journal: IntentJournal | None = None,
        stream_policy: StreamPolicy | None = None,
        poll_interval: float = 1.0,
        limiter: RateLimiter | None = None,
        deadline_scale: float = 1.0,
        backoff_base: float = 0.2,
        max_attempts: int = 4,
        resolve_attempts: int = 5,
        stop_poll_interval: float = 5.0,
        local_stops: bool | None = None,
    ) -> None:
        if not token:
            raise BrokerError(
                "no T-Invest token",
                hint="set AVIN_TOKEN or `token` in avin.toml (a sandbox token for the sandbox)",
            )
        self.mode = mode
        self.config = ChannelConfig(
            target=target or default_target(mode),
            token=token,
            app_name=app_name,
            deadline_scale=deadline_scale,
            backoff_base=backoff_base,
            max_attempts=max_attempts,
        )
        self.transport = Transport(self.config, limiter=limiter)
        self.journal: IntentJournal = journal or InMemoryJournal()
        self.policy = stream_policy or StreamPolicy()
        self.resolve_attempts = resolve_attempts
        self.stop_poll_interval = stop_poll_interval  # GetStopOrders while a stop order waits
        # The sandbox has no stop orders: avin keeps them itself (engine.broker.local_stops)
        self.local_stops = mode is Mode.SANDBOX if local_stops is None else local_stops
        self._alias: dict[str, str] = {}  # key of the order a local stop became -> stop key
        self._queue: asyncio.Queue[BrokerEvent] = asyncio.Queue()
        self._by_uid: dict[str, Instrument] = {}
        self._by_figi: dict[str, Instrument] = {}
        self._by_code: dict[str, Instrument] = {}
        self._shares_loaded = False
        self._tracked: dict[str, tuple[str, Instrument]] = {}  # key -> (account, instrument)
        self._exchange_key: dict[str, str] = {}  # exchange order id -> client key
        self._seen: dict[str, tuple[OrderStatus, int]] = {}
        self._trade_ids: set[str] = set()
        # key -> (lots, value) of the fills emitted: answers without trade ids (PostOrder,
        # GetOrderState without stages) are deduplicated against the stream by executed lots
        self._booked: dict[str, tuple[int, Decimal]] = {}
        self._commissions: dict[str, Decimal] = {}  # key -> commission of the fills emitted
        # key -> (initial_commission, lots requested) from the PostOrder answer: the estimate
        self._estimates: dict[str, tuple[Decimal, int]] = {}
        # exact commission lookups (GetOrderState) take at most this share of OrdersService
        self._lookups = TokenBucket(COMMISSION_LOOKUPS_PER_MINUTE / 60.0, 5)
        self._stops: dict[str, TrackedStop] = {}  # client key -> the stop order
        # while recovery compares the journal with the broker: code -> newest price (the local
        # stops wait, see hold_local_stops); None: local stops trigger as prices come
        self._held_prices: dict[str, Decimal] | None = None
        self._stop_watch: asyncio.Task[None] | None = None
        self._status: dict[str, tuple[TradingStatus, float]] = {}  # uid -> (GetTradingStatus, t)
        self._status_tasks: dict[str, asyncio.Task[Any]] = {}
        self._poll_interval = poll_interval  # GetOrderState while the order stream is down

    # --- lifecycle --------------------------------------------------------------------------

    def use_journal(self, journal: IntentJournal) -> None:
        """Record keys (and the stop order ids of stop orders) in ``journal`` from now on: the
        engine hands over its persistent journal, so the links survive a restart."""
        self.journal = journal

    async def close(self) -> None:
        triggers = [s.trigger for s in self._stops.values()]
        tasks = [
            t for t in (self._stop_watch, *self._status_tasks.values(), *triggers) if t is not None
        ]
        self._stop_watch = None
        self._status_tasks.clear()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.market.close()
        await self.orders.close()
        await self.transport.close()

    def _emit(self, event: BrokerEvent) -> None:
        """Queue ``event`` for :meth:`events` (the stop-order role also checks local stops)."""
        self._queue.put_nowait(event)

    def server_time(self) -> ServerTime | None:
        """The server clock of the newest market-data stream ping (None before the first)."""
        return self.market.server_time

    async def events(self) -> AsyncIterator[BrokerEvent]:
        while True:
            yield await self._queue.get()

    async def _call(self, service: str, method: str, request: Any, **kw: Any) -> Any:
        return await self.transport.call(service, method, request, **kw)

    async def _order_state(self, account: str, order_id: str, *, exchange: bool) -> Any:
        """GetOrderState by the exchange's order id or (``exchange=False``) by our request key."""
        kind = pb.ORDER_ID_TYPE_EXCHANGE if exchange else pb.ORDER_ID_TYPE_REQUEST
        request = pb.GetOrderStateRequest(account_id=account, order_id=order_id, order_id_type=kind)
        return await self._call("OrdersService", "GetOrderState", request)

    # --- stop orders: the links from a key to its stop order and what it became -------------

    def _stop(self, key: str) -> TrackedStop | None:
        """The stop order under ``key``: followed in this run, or known to the journal (a
        restart: the journal links the key to the stop order id)."""
        stop = self._stops.get(key)
        if stop is None:
            link = self._journal_stops().get(key)
            if link is not None:
                stop = self._stops[key] = TrackedStop(key, link[0], link[1])
        return stop

    def _journal_stops(self) -> dict[str, tuple[str, str]]:
        stop_orders = getattr(self.journal, "stop_orders", None)
        if stop_orders is None:
            return {}
        try:
            return dict(stop_orders())
        except Exception as exc:  # a journal that cannot answer must not stop trading
            log.warning("the journal cannot list stop orders: %s", exc)
            return {}

    def _link(self, stop: TrackedStop, child: str, inst: Instrument) -> None:
        """The stop order triggered and became the exchange order ``child``: its states and
        fills are reported under the stop order's key from now on."""
        if stop.child == child:
            return
        stop.child = child
        self._exchange_key[child] = stop.key
        if not stop.finished:
            self._tracked[stop.key] = (stop.account, inst)
        log.info("stop order %s triggered: exchange order %s", stop.key[:8], child)

    def _stop_view(self, stop: TrackedStop, child: Order) -> Order:
        """The order a stop became, shown as the stop order the engine knows (key, type, prices)."""
        base = stop.order
        if base is None:
            return replace(child, id=stop.key)
        return replace(
            child,
            id=stop.key,
            type=base.type,
            price=base.price,
            stop_price=base.stop_price,
            strategy=base.strategy,
            broker_id=stop.stop_id,
        )

    @staticmethod
    def _stop_code(stop: TrackedStop) -> str:
        return stop.order.instrument if stop.order is not None else ""

    def _journal_stop_order(self, key: str) -> Order | None:
        find = getattr(self.journal, "stop_order", None)
        if find is None:
            return None
        try:
            found = find(key)
        except Exception as exc:  # a journal that cannot answer must not stop trading
            log.warning("the journal cannot give stop order %s: %s", key, exc)
            return None
        return found if isinstance(found, Order) else None
