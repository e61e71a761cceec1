"""The pre-trade gate: builds each order's :class:`CheckInput` from the engine and runs the rules.

``check(order)`` runs at submit time (every order, before it is recorded and sent);
``post_check(order)`` runs again just before the router sends it, for the trading state only
(the state may have changed while the order waited for its turn on the loop). Rejections are
counted per rule in ``rejections``. The per-minute order rates count on ``clock`` (seconds): the
risk desk gives it the market's own clock where the market keeps one (the simulated market), the
monotonic clock otherwise; the backtest gives it the bars' time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal

from engine.broker.base import UNKNOWN_STATUS, TradingStatus
from engine.config import RiskSettings
from engine.model import Instrument, Order, OrderType
from engine.model.order_book import OrderManager
from engine.model.snapshot import TradingState
from engine.risk.checks import CheckInput, Rejection, first_rejection, reduces, trading_state
from engine.risk.exposure import Book, book_of, gross_exposure
from engine.risk.limits import OrderLimits, resolve
from engine.risk.window import WindowCounter

MINUTE = 60.0


class RiskGate:
    def __init__(
        self,
        settings: RiskSettings,
        book: OrderManager,
        instruments: dict[str, Instrument],
        *,
        state: Callable[[], TradingState],
        market_status: Callable[[str], TradingStatus] = lambda code: UNKNOWN_STATUS,
        budget: Callable[[str], Decimal | None] = lambda strategy: None,
        fallback_price: Callable[[str], Decimal | None] = lambda code: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.book = book
        self.instruments = instruments
        self._state = state
        self._market_status = market_status
        self._budget = budget
        self._fallback_price = fallback_price
        self._clock = clock
        self.last_prices: dict[str, Decimal] = {}
        self.rejections: dict[str, int] = {}
        self._strategy_rate: dict[str, WindowCounter] = {}
        self._account_rate: dict[str, WindowCounter] = {}
        # (new, resting): netted together in this turn, so they do not trade against each
        # other (the engine's netting desk, engine.runtime.netting)
        self.nets: Callable[[Order, Order], bool] = lambda new, resting: False

    # --- inputs ---------------------------------------------------------------------------------

    def mark(self, code: str, price: Decimal) -> None:
        self.last_prices[code] = price

    def last_price(self, code: str) -> Decimal | None:
        price = self.last_prices.get(code)
        return price if price is not None else self._fallback_price(code)

    def limits(self, order: Order) -> OrderLimits:
        budget = self._budget(order.strategy) if order.strategy else None
        return resolve(self.settings, order.account, order.strategy, budget)

    def _lot(self, code: str) -> int:
        instrument = self.instruments.get(code)
        return instrument.lot if instrument else 1

    def account_book(self, account: str, code: str, exclude: str = "") -> Book:
        position = self.book.positions.get((account, code))
        orders = [  # an internal order (netting) is at the broker as its net order
            o
            for o in self.book.open_orders(account=account)
            if o.instrument == code and not o.internal
        ]
        return book_of(position.lots if position else 0, orders, exclude)

    def strategy_book(self, strategy: str, exclude: str = "") -> Book:
        if not strategy:
            return Book()
        position = self.book.strategy_positions.get(strategy)
        orders = self.book.open_orders(strategy=strategy)
        return book_of(position.lots if position else 0, orders, exclude)

    def account_gross(self, account: str, skip: str = "") -> Decimal:
        """Worst-case gross value of ``account`` (every instrument but ``skip``)."""
        codes = {code for (acc, code) in self.book.positions if acc == account}
        codes |= {o.instrument for o in self.book.open_orders(account=account)}
        codes.discard(skip)
        books = {code: self.account_book(account, code) for code in codes}
        return gross_exposure(books, self.last_price, self._lot)

    def _window(self, table: dict[str, WindowCounter], key: str) -> WindowCounter:
        counter = table.get(key)
        if counter is None:
            counter = table[key] = WindowCounter(0, MINUTE)
        return counter

    # --- checks ---------------------------------------------------------------------------------

    def inputs(self, order: Order) -> CheckInput:
        code = order.instrument
        now = self._clock()
        account_book = self.account_book(order.account, code, exclude=order.id)
        strategy_book = self.strategy_book(order.strategy, exclude=order.id)
        price = self.last_price(code)
        gross = self.account_gross(order.account, skip=code)
        if price is not None:
            gross += price * account_book.worst * self._lot(code)
        resting = [
            o
            for o in self.book.open_orders(account=order.account)
            if o.instrument == code
            and o.id != order.id
            and not o.internal
            and not self.nets(order, o)
        ]
        status = self._market_status(code)
        note = f"{status.status} ({status.source})" if status.status and status.source else ""
        return CheckInput(
            order=order,
            instrument=self.instruments.get(code),
            last_price=price,
            limits=self.limits(order),
            state=self._state(),
            account_book=account_book,
            strategy_book=strategy_book,
            account_gross=gross,
            market_open=status.allows(order.type is OrderType.MARKET),
            resting=resting,
            strategy_orders=self._window(self._strategy_rate, order.strategy).count(now)
            if order.strategy
            else 0,
            account_orders=self._window(self._account_rate, order.account).count(now),
            check_session=self.settings.check_session,
            prevent_self_trade=self.settings.prevent_self_trade,
            market_note=note,
        )

    def check(self, order: Order) -> Rejection | None:
        """Run every rule; on a pass the order counts towards the rate limits."""
        rejection = first_rejection(self.inputs(order))
        if rejection is not None:
            self.rejections[rejection.rule] = self.rejections.get(rejection.rule, 0) + 1
            return rejection
        now = self._clock()
        if order.strategy:
            self._window(self._strategy_rate, order.strategy).record(now)
        self._window(self._account_rate, order.account).record(now)
        return None

    def post_check(self, order: Order) -> str:
        """Just before sending: the trading state only (the reason, empty when it may go)."""
        state = self._state()
        if state is TradingState.ACTIVE:
            return ""
        book = self.account_book(order.account, order.instrument, exclude=order.id)
        if state is TradingState.REDUCING and reduces(book, order.side, order.lots):
            return ""
        rejection = trading_state(
            CheckInput(
                order=order,
                instrument=None,
                last_price=None,
                limits=self.limits(order),
                state=state,
                account_book=book,
                strategy_book=Book(),
                account_gross=Decimal(0),
                market_open=None,
            )
        )
        if rejection is None:
            return ""
        self.rejections[rejection.rule] = self.rejections.get(rejection.rule, 0) + 1
        return str(rejection)
