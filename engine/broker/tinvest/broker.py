"""``TInvestBroker``: the :class:`engine.broker.base.Broker` over the T-Invest gRPC API.

One facade over the adapter's roles, one module each (see ``core.py``): instrument lookup
(``instruments``), accounts and positions (``accounts``), market data (``market_data``), fill
and commission booking (``fills``), stop orders (``stops``) and orders (``orders``).

Orders carry the engine's client key as ``PostOrderRequest.order_id`` (the broker's idempotency
key). The key is written to the :class:`IntentJournal` before the request is sent. When the outcome
is ambiguous (timeout, 70xxx, a dropped connection) the order is looked up by that key
(``GetOrderState`` with ``ORDER_ID_TYPE_REQUEST``, then ``GetOrders``); only when the broker has
never seen it is the *same* request sent again with the *same* key. A new key is never used.

Stop orders (PostStopOrder) become an exchange order of their own when their price is crossed;
the adapter reports that order's states and fills under the stop order's key (linked by
``StopOrder.exchange_order_id``, found from the order-state stream or by polling GetStopOrders),
and the journal keeps key -> stop order id across restarts. A fill's commission is the delta of
the order's ``executed_commission`` (GetOrderState): the order-state stream has none. Those
lookups get a budget (``COMMISSION_LOOKUPS_PER_MINUTE``, and only while OrdersService has half its
burst spare); beyond it a fill carries its share of the PostOrder ``initial_commission``. See
docs/brokers.md.
"""

from __future__ import annotations

from engine.broker.tinvest.core import default_target
from engine.broker.tinvest.limiter import RateLimiter
from engine.broker.tinvest.market_stream import MarketStream
from engine.broker.tinvest.order_requests import OrderOutcomeUnknown, StopOrdersUnavailable
from engine.broker.tinvest.order_stream import OrderStream
from engine.broker.tinvest.orders import OrderExecution
from engine.broker.tinvest.streams import StreamPolicy
from engine.model import Mode
from engine.orders.journal import IntentJournal


class TInvestBroker(OrderExecution):
    """The T-Invest adapter: every role, and the streams that call back into them."""

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
        super().__init__(
            token,
            mode=mode,
            target=target,
            app_name=app_name,
            journal=journal,
            stream_policy=stream_policy,
            poll_interval=poll_interval,
            limiter=limiter,
            deadline_scale=deadline_scale,
            backoff_base=backoff_base,
            max_attempts=max_attempts,
            resolve_attempts=resolve_attempts,
            stop_poll_interval=stop_poll_interval,
            local_stops=local_stops,
        )
        self.market = MarketStream(self.transport, self._emit, self._backfill, self.policy)
        self.orders = OrderStream(
            self.transport,
            self._emit,
            self._on_stream_state,
            self._poll_orders,
            self.policy,
            self._poll_interval,
        )

    def __repr__(self) -> str:
        return f"TInvestBroker(mode={self.mode.value}, target={self.config.target!r})"


__all__ = ["OrderOutcomeUnknown", "StopOrdersUnavailable", "TInvestBroker", "default_target"]
