"""The fake server's exchange: accounts, orders and the simulated market.

Prices come from :class:`engine.broker.sim.market.SimMarket` (the deterministic generator replayed
on a clock) and orders are matched by :class:`engine.broker.sim.matching.MatchingEngine`. Tests
drive the clock with :meth:`FakeExchange.step` / :meth:`advance`; ``avin sim-server`` runs it in real
time. Listeners hear about every tick, every order change and every trading-status change.

Like the real exchange:

- a stop order (PostStopOrder) is not an exchange order: it waits on the exchange's side until the
  last price crosses its stop price, then it is EXECUTED and a regular order takes its place
  (market for stop-loss and take-profit, limit at ``price`` for stop-limit), with an exchange id of
  its own (``StopOrder.exchange_order_id``) and no client key; that order trades and is reported
  like any other (order-state stream, GetOrderState);
- ``max_fill_lots`` limits the lots one trade may take (0: whole orders), so an order can fill in
  parts over several ticks; each trade carries the matching engine's commission;
- ``set_trading(instrument, False)`` switches trading off for one instrument (trading-status
  stream, GetTradingStatus, and PostOrder answers 30098);
- a market order trades at once at the last price while the instrument trades, so the PostOrder
  answer is already FILL with the executed lots, price and commission, as the real service
  answers most market orders (``fill_market_on_post=False`` keeps the older "NEW, the fill comes
  with the next price" behaviour for tests that need an order to rest).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from engine.broker.fake_tinvest.identity import real_shaped
from engine.broker.fake_tinvest.records import AccountState, ExchangeError, ServerOrder, Trade
from engine.broker.sim import session
from engine.broker.sim.market import MarketTick, SimMarket
from engine.broker.sim.matching import MatchingEngine
from engine.data.sim_catalog import SIM_INSTRUMENTS
from engine.model import Bar, Fill, Instrument, Order, OrderStatus, OrderType, Side, TimeFrame

PRICE_BAND = Decimal("0.2")  # limit prices further than 20% from the last price: 30099

OrderListener = Callable[[ServerOrder, list[Trade]], None]
TickListener = Callable[[list[MarketTick]], None]
StatusListener = Callable[[Instrument, bool], None]


class FakeExchange:
    def __init__(
        self,
        instruments: tuple[Instrument, ...] = SIM_INSTRUMENTS,
        *,
        seed: int = 42,
        start: datetime | None = None,
        speed: float = 60.0,
        cash: Decimal = Decimal(1_000_000),
        commission: Decimal = Decimal("0.0005"),
        fill_market_on_post: bool = True,
    ) -> None:
        instruments = tuple(real_shaped(i) for i in instruments)
        self.instruments = instruments
        self.fill_market_on_post = fill_market_on_post
        self.market = SimMarket(instruments, seed=seed, speed=speed, start=start)
        self.engine = MatchingEngine(commission)
        self.accounts: dict[str, AccountState] = {}
        self.orders: dict[str, ServerOrder] = {}
        self.by_key: dict[tuple[str, str], str] = {}
        self.last: dict[str, Decimal] = {}
        self.current: dict[str, Bar] = {}  # the in-progress minute per instrument code
        self.closed_until = session.next_session_minute(self.market.now)
        self.fill_delay_ticks = 0
        self.max_fill_lots = 0  # the most lots one trade takes (0: the whole order at once)
        self.halted: set[str] = set()  # instrument codes switched off with set_trading()
        self._order_listeners: list[OrderListener] = []
        self._tick_listeners: list[TickListener] = []
        self._status_listeners: list[StatusListener] = []
        self._trade_ids = itertools.count(1)
        self._slices: dict[str, str] = {}  # slice id -> exchange id
        self._slice_ids = itertools.count(1)
        self.market.add_listener(self._on_ticks)
        self.open_account("fake-account-1", "Fake broker account", cash)

    # --- lookup -----------------------------------------------------------------------------

    def instrument(self, ident: str) -> Instrument:
        text = ident.strip()
        for inst in self.instruments:
            if text in (inst.uid, inst.figi) or text.upper() in (inst.ticker, inst.code):
                return inst
        raise ExchangeError("50002", f"instrument {ident!r} not found")

    def account(self, account_id: str) -> AccountState:
        acc = self.accounts.get(account_id)
        if acc is None:
            raise ExchangeError("50004", f"account {account_id!r} not found")
        return acc

    def open_account(self, account_id: str = "", name: str = "", cash: Decimal = Decimal(0)) -> str:
        account_id = account_id or f"fake-{uuid.uuid4().hex[:12]}"
        self.accounts[account_id] = AccountState(account_id, name or account_id, cash)
        return account_id

    def close_account(self, account_id: str) -> None:
        """Close a (sandbox) account: its orders go with it; later calls answer 50004."""
        self.account(account_id)
        for record in [o for o in self.orders.values() if o.account == account_id]:
            if record.order.is_open:
                self.cancel(account_id, record.exchange_id, stop=record.stop)
        del self.accounts[account_id]

    def last_price(self, inst: Instrument) -> Decimal:
        price = self.last.get(inst.code)
        return price if price is not None else self.market.reference_price(inst)

    def estimated_commission(self, record: ServerOrder) -> Decimal:
        """``initial_commission``: the commission of the whole order at its price (or the last)."""
        o = record.order
        price = o.price or o.stop_price or self.last_price(record.instrument)
        return self.engine.commission(record.instrument, price, o.lots)

    # --- trading status ---------------------------------------------------------------------

    def is_trading(self, inst: Instrument) -> bool:
        return self.market.is_open and inst.code not in self.halted

    def set_trading(self, ident: str, trading: bool) -> None:
        """Switch trading of one instrument off (or back on); subscribers hear about it."""
        inst = self.instrument(ident)
        if trading:
            self.halted.discard(inst.code)
        else:
            self.halted.add(inst.code)
        for listener in list(self._status_listeners):
            listener(inst, self.is_trading(inst))

    def add_status_listener(self, listener: StatusListener) -> None:
        self._status_listeners.append(listener)

    def remove_status_listener(self, listener: StatusListener) -> None:
        if listener in self._status_listeners:
            self._status_listeners.remove(listener)

    # --- listeners --------------------------------------------------------------------------

    def add_order_listener(self, listener: OrderListener) -> None:
        self._order_listeners.append(listener)

    def remove_order_listener(self, listener: OrderListener) -> None:
        if listener in self._order_listeners:
            self._order_listeners.remove(listener)

    def add_tick_listener(self, listener: TickListener) -> None:
        self._tick_listeners.append(listener)

    def remove_tick_listener(self, listener: TickListener) -> None:
        if listener in self._tick_listeners:
            self._tick_listeners.remove(listener)

    def _notify(self, order: ServerOrder, trades: list[Trade]) -> None:
        for listener in list(self._order_listeners):
            listener(order, trades)

    # --- clock ------------------------------------------------------------------------------

    def step(self) -> list[MarketTick]:
        return self.market.step()

    def advance(self, minutes: int = 1) -> list[MarketTick]:
        return self.market.advance(minutes)

    def _on_ticks(self, ticks: list[MarketTick]) -> None:
        for order in list(self.orders.values()):
            if order.pending_ticks > 0:
                order.pending_ticks -= 1
                if order.pending_ticks == 0 and order.order.is_open:
                    self._work(order)
        for tick in ticks:
            code = tick.instrument.code
            if tick.closed:
                self.closed_until = max(self.closed_until, tick.bar.ts + timedelta(minutes=1))
                self.current.pop(code, None)
            else:
                self.current[code] = tick.bar
                self.last[code] = tick.price
                self._check_stops(code, tick.price, tick.ts)
            for fill in self.engine.on_price(code, tick.price, tick.ts, gap=tick.gap):
                self._book(fill)
        for listener in list(self._tick_listeners):
            listener(ticks)

    def _work(self, record: ServerOrder) -> None:
        """Hand the matching engine the next part of ``record`` (all of it without a limit)."""
        o = record.order
        lots = o.remaining_lots
        if self.max_fill_lots > 0:
            lots = min(lots, self.max_fill_lots)
        part = Order(
            instrument=o.instrument,
            side=o.side,
            type=o.type,
            lots=lots,
            account=o.account,
            price=o.price,
            stop_price=o.stop_price,
            id=f"{record.exchange_id}#{next(self._slice_ids)}",
            status=OrderStatus.ACCEPTED,
            created_ts=self.market.now,
        )
        self._slices[part.id] = record.exchange_id
        record.slice_id = part.id
        self.engine.add(part, record.instrument)

    def _check_stops(self, code: str, price: Decimal, ts: datetime) -> None:
        """Trigger (or expire) the active stop orders of ``code`` at this price."""
        for record in [o for o in self.orders.values() if o.stop and o.order.is_open]:
            if record.instrument.code != code:
                continue
            if record.expire is not None and ts >= record.expire:
                record.order.transition(OrderStatus.EXPIRED, ts, "expired")
                self._notify(record, [])
                continue
            o = record.order
            assert o.stop_price is not None
            rising = o.side is Side.BUY
            if o.type is OrderType.TAKE_PROFIT:
                rising = not rising
            if (price >= o.stop_price) if rising else (price <= o.stop_price):
                self._trigger(record, ts)

    def _trigger(self, record: ServerOrder, ts: datetime) -> None:
        """The stop price was crossed: the stop order is EXECUTED, a regular order replaces it."""
        stop = record.order
        limit = stop.type is OrderType.STOP_LIMIT
        child_id = f"ord-{uuid.uuid4().hex[:16]}"
        order = Order(
            instrument=stop.instrument,
            side=stop.side,
            type=OrderType.LIMIT if limit else OrderType.MARKET,
            lots=stop.lots,
            account=stop.account,
            price=stop.price if limit else None,
            id=child_id,
            created_ts=ts,
        )
        order.transition(OrderStatus.SUBMITTED, ts)
        order.transition(OrderStatus.ACCEPTED, ts)
        child = ServerOrder(
            child_id, "", record.account, record.instrument, order, ts, parent_id=record.exchange_id
        )
        self.orders[child_id] = child
        record.child_id = child_id
        record.triggered = ts
        stop.transition(OrderStatus.FILLED, ts, "triggered")
        if self.fill_delay_ticks > 0:
            child.pending_ticks = self.fill_delay_ticks
        else:
            self._work(child)  # matched against this very price
        self._notify(child, [])

    def _book(self, fill: Fill) -> None:
        exchange_id = self._slices.pop(fill.order_id, fill.order_id)
        order = self.orders.get(exchange_id)
        if order is None:
            return
        order.slice_id = ""
        order.order.apply_fill(
            Fill(
                order_id=exchange_id,
                instrument=fill.instrument,
                side=fill.side,
                lots=fill.lots,
                price=fill.price,
                commission=fill.commission,
                ts=fill.ts,
                fill_id=fill.fill_id,
                account=fill.account,
            )
        )
        if order.order.is_open:
            self._work(order)  # the rest trades from the next price on
        acc = self.accounts[order.account]
        inst = order.instrument
        pieces = fill.lots * inst.lot
        value = fill.price * pieces
        uid = inst.uid
        held = acc.positions.get(uid, 0)
        if fill.side is Side.BUY:
            acc.cash -= value + fill.commission
            new = held + pieces
            if new > 0 and held >= 0:
                prev = acc.avg_price.get(uid, Decimal(0))
                acc.avg_price[uid] = (prev * held + value) / new
        else:
            acc.cash += value - fill.commission
            new = held - pieces
        acc.positions[uid] = new
        if new == 0:
            acc.avg_price.pop(uid, None)
        trade = Trade(f"trade-{next(self._trade_ids)}", fill.price, fill.lots, fill.ts)
        order.trades.append(trade)
        order.commission += fill.commission
        self._notify(order, [trade])

    # --- orders -----------------------------------------------------------------------------

    def post_order(
        self,
        *,
        account_id: str,
        key: str,
        instrument_id: str,
        side: Side,
        kind: OrderType,
        lots: int,
        price: Decimal | None,
        stop_price: Decimal | None = None,
        stop: bool = False,
    ) -> tuple[ServerOrder, bool]:
        """Place an order (or find the one with this key); returns (order, created)."""
        if not key:
            raise ExchangeError("30027", "order_id is required")
        try:
            uuid.UUID(key)
        except ValueError:
            raise ExchangeError("30028", "order_id must be a UUID") from None
        acc = self.account(account_id)
        existing = self.by_key.get((account_id, key))
        if existing is not None:
            return self.orders[existing], False
        inst = self.instrument(instrument_id)
        if lots <= 0:
            raise ExchangeError("30001", "quantity must be positive")
        if inst.code in self.halted and not stop:
            raise ExchangeError("30098", "Trading is not available now")
        last = self.last_price(inst)
        for p in (price, stop_price):
            if p is None:
                continue
            if p <= 0 or p % inst.step != 0:
                raise ExchangeError(
                    "30078", f"price {p} is not a multiple of the price step {inst.step}"
                )
            if abs(p - last) > last * PRICE_BAND:
                raise ExchangeError("30099", f"price {p} is outside the allowed limits")
        if side is Side.BUY:
            estimate = (price or stop_price or last) * lots * inst.lot
            if estimate * (1 + self.engine.commission_rate) > acc.cash:
                raise ExchangeError("30034", "not enough assets for a margin trade")
        exchange_id = f"{'stop' if stop else 'ord'}-{uuid.uuid4().hex[:16]}"
        now = self.market.now
        order = Order(
            instrument=inst.code,
            side=side,
            type=kind,
            lots=lots,
            account=account_id,
            price=price,
            stop_price=stop_price,
            id=exchange_id,
            created_ts=now,
        )
        order.transition(OrderStatus.SUBMITTED, now)
        order.transition(OrderStatus.ACCEPTED, now)
        record = ServerOrder(exchange_id, key, account_id, inst, order, now, stop=stop)
        self.orders[exchange_id] = record
        self.by_key[(account_id, key)] = exchange_id
        self._notify(record, [])
        if stop:
            pass  # waits for its stop price (see _check_stops)
        elif self.fill_delay_ticks > 0:
            record.pending_ticks = self.fill_delay_ticks
        elif kind is OrderType.MARKET and self.fill_market_on_post and self.is_trading(inst):
            self._fill_now(record, last)
        else:
            self._work(record)
        return record, True

    def _fill_now(self, record: ServerOrder, price: Decimal) -> None:
        """A market order trades at once at the last price (``max_fill_lots`` at most: the rest
        trades from the next price on)."""
        o = record.order
        lots = o.remaining_lots
        if self.max_fill_lots > 0:
            lots = min(lots, self.max_fill_lots)
        fill = Fill(
            order_id=record.exchange_id,
            instrument=o.instrument,
            side=o.side,
            lots=lots,
            price=price,
            commission=self.engine.commission(record.instrument, price, lots),
            ts=self.market.now,
            fill_id=f"post-{record.exchange_id}",
            account=o.account,
        )
        self._book(fill)

    def find(
        self, account_id: str, order_id: str, *, by_key: bool, stop: bool = False
    ) -> ServerOrder:
        """An order (``stop``: a stop order) of the account by exchange id or client key."""
        self.account(account_id)
        if by_key:
            exchange_id = self.by_key.get((account_id, order_id))
            record = self.orders.get(exchange_id) if exchange_id else None
        else:
            record = self.orders.get(order_id)
        if record is None or record.account != account_id or record.stop != stop:
            raise ExchangeError("50005", f"order {order_id} not found")
        return record

    def cancel(
        self, account_id: str, order_id: str, *, by_key: bool = False, stop: bool = False
    ) -> ServerOrder:
        record = self.find(account_id, order_id, by_key=by_key, stop=stop)
        if not record.order.is_open:
            raise ExchangeError("30059", f"order {order_id} is already {record.order.status.value}")
        if record.slice_id:
            self.engine.remove(record.slice_id)
            self._slices.pop(record.slice_id, None)
            record.slice_id = ""
        record.pending_ticks = 0
        record.order.transition(OrderStatus.CANCELLED, self.market.now, "cancelled by client")
        self._notify(record, [])
        return record

    def active_orders(self, account_id: str, *, stop: bool = False) -> list[ServerOrder]:
        self.account(account_id)
        return [
            o
            for o in self.orders.values()
            if o.account == account_id and o.order.is_open and o.stop == stop
        ]

    # --- candles ----------------------------------------------------------------------------

    def candles(
        self, inst: Instrument, timeframe: TimeFrame, begin: datetime, end: datetime
    ) -> list[tuple[Bar, bool]]:
        """Bars with ``begin <= ts < end`` up to now: (bar, complete)."""
        stop = min(end, self.closed_until)
        minutes = self.market.generator.bar_list(inst, begin, stop) if stop > begin else []
        current = self.current.get(inst.code)
        partial = current is not None and begin <= current.ts < end
        if timeframe is TimeFrame.M1:
            out = [(b, True) for b in minutes]
            if partial and current is not None:
                out.append((current, False))
            return out
        frames: dict[datetime, Bar] = {}
        for bar in minutes + ([current] if partial and current is not None else []):
            start = timeframe.floor(bar.ts)
            prev = frames.get(start)
            frames[start] = (
                Bar(start, bar.open, bar.high, bar.low, bar.close, bar.volume)
                if prev is None
                else prev.merge(bar)
            )
        now_frame = timeframe.floor(self.closed_until - timedelta(microseconds=1))
        last_open = partial or any(start >= now_frame for start in frames)
        out = []
        for start in sorted(frames):
            complete = not (last_open and start >= now_frame)
            if start >= begin:
                out.append((frames[start], complete))
        return out
