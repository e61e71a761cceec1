"""The engine's pre-trade rules in a backtest: the live :class:`RiskGate` over the backtest's book.

The same rules in the same order as live trading (``engine.risk.checks``), with the backtest's
own inputs: the trading state is ACTIVE (no kill switch runs), the market is never closed (the
bars are the session), the reference price is the last closed bar's close, and the per-minute
order rates count in market time.

A backtest asks the rules once per order, so the common case -- an order without a price of its
own while nothing else is open -- is answered without building the rules' input at all when it
certainly passes (:meth:`_BacktestRiskGate._passes`, every rule's condition for those inputs;
anything else asks the rules). Otherwise the inputs are gathered the short way when the book
allows it (:meth:`_BacktestRiskGate.inputs`: the same :class:`CheckInput` the live gate builds,
tests compare them), and the rules that cannot refuse anything under these inputs are not asked:
``trading_state`` (always ACTIVE), ``session`` (no trading status: never closed),
``instrument_known`` (the order is on the backtest's instrument), ``strategy_position`` and
``budget`` when no such limit is set.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal

from engine.broker.base import UNKNOWN_STATUS
from engine.config import RiskSettings
from engine.model import Instrument, Order, OrderType, Side
from engine.model.order_book import OrderManager
from engine.model.snapshot import TradingState
from engine.risk import checks
from engine.risk.checks import Check, CheckInput, Rejection, first_rejection
from engine.risk.exposure import Book
from engine.risk.gate import RiskGate
from engine.risk.limits import OrderLimits

_ZERO = Decimal(0)
_EMPTY = Book()


# the rules :meth:`_BacktestRiskGate._passes` answers for; another list turns it off
KNOWN_RULES: tuple[Check, ...] = (
    checks.trading_state,
    checks.instrument_known,
    checks.lot_validity,
    checks.price_step,
    checks.session,
    checks.max_order_lots,
    checks.max_order_value,
    checks.price_collar,
    checks.max_position,
    checks.strategy_position,
    checks.gross_exposure,
    checks.budget,
    checks.self_trade,
    checks.strategy_rate,
    checks.account_rate,
)


def _rules(limits: OrderLimits) -> tuple[Check, ...]:
    """The rules that can refuse an order of the backtest's strategy under ``limits``, in the
    live order (skipping one that always passes changes no answer: the first refusal wins)."""
    never = {checks.trading_state, checks.session, checks.instrument_known}
    if limits.strategy_position_lots is None:
        never.add(checks.strategy_position)
    if limits.budget is None:
        never.add(checks.budget)
    return tuple(rule for rule in checks.RULES if rule not in never)


class _Resolved:
    """The limits of one account and strategy and the rules that can refuse under them, with
    the limits :meth:`_BacktestRiskGate._passes` reads kept as attributes of this (compiled)
    class: reading them off :class:`OrderLimits` costs a lookup each."""

    def __init__(self, limits: OrderLimits) -> None:
        self.limits = limits
        self.rules = _rules(limits)
        self.max_order_lots = limits.max_order_lots
        self.max_order_value = limits.max_order_value
        self.account_position_lots = limits.account_position_lots
        self.strategy_position_lots = limits.strategy_position_lots
        self.gross_exposure = limits.gross_exposure
        self.budget = limits.budget
        self.strategy_rate = limits.strategy_rate
        self.account_rate = limits.account_rate


class _BacktestRiskGate(RiskGate):
    """The live gate with the backtest's shortcuts (see the module doc); limits resolved once
    per account and strategy (a backtest has no budgets that change while it runs)."""

    def __init__(
        self,
        settings: RiskSettings,
        book: OrderManager,
        instrument: Instrument,
        *,
        state: Callable[[], TradingState],
        fallback_price: Callable[[str], Decimal | None],
        clock: Callable[[], float],
    ) -> None:
        super().__init__(
            settings,
            book,
            {instrument.code: instrument},
            state=state,
            fallback_price=fallback_price,
            clock=clock,
        )
        self._code = instrument.code
        self._lot_size = instrument.lot
        self._limits: dict[tuple[str, str], _Resolved] = {}
        # the last limits asked for and for whom (a backtest's orders are one strategy's)
        self._last: _Resolved | None = None
        self._last_account = self._last_strategy = ""
        # what the live gate would find: an ACTIVE state and no trading status (never closed)
        self._known = checks.RULES == KNOWN_RULES
        self._fixed = (
            self._code in self.instruments
            and self._state() is TradingState.ACTIVE
            and self._market_status(self._code) is UNKNOWN_STATUS
            and UNKNOWN_STATUS.allows(True) is None
            and UNKNOWN_STATUS.allows(False) is None
        )

    def _resolved(self, order: Order) -> _Resolved:
        account, strategy = order.account, order.strategy
        found = self._last
        if found is not None and account is self._last_account and strategy is self._last_strategy:
            return found  # (the very strings of the last order: no key to build and hash)
        key = (account, strategy)
        found = self._limits.get(key)
        if found is None:
            found = self._limits[key] = _Resolved(super().limits(order))
        self._last, self._last_account, self._last_strategy = found, account, strategy
        return found

    def limits(self, order: Order) -> OrderLimits:
        return self._resolved(order).limits

    def inputs(self, order: Order) -> CheckInput:
        fast = self._fast_inputs(order, self._clock())
        return fast if fast is not None else super().inputs(order)

    def _passes(self, order: Order, now: float) -> bool:
        """True when no rule of :data:`~engine.risk.checks.RULES` can refuse ``order``, decided
        without building its :class:`CheckInput`, for the common case only: an order without a
        price of its own (a market order) on the backtest's instrument, nothing else open, the
        rules exactly those this reasoning covers (:data:`KNOWN_RULES`). False means "ask the
        rules" (never "refused"). Each line answers one rule for those inputs: the account's
        and the strategy's books are their positions alone (no open orders), the order is
        valued at the last price, the account's gross value is this instrument's.
        """
        if (
            not self._known
            or order.price is not None
            or order.stop_price is not None
            or order.instrument != self._code
            or not self._fixed
        ):
            return False
        book = self.book
        if book.open_orders():
            return False
        account, strategy = order.account, order.strategy
        for acc, code in book.positions:
            if acc == account and code != self._code:
                return False
        lots = order.lots
        limits = self._resolved(order)
        if type(lots) is not int or lots <= 0 or lots > limits.max_order_lots:  # lot_validity,
            return False  # max_order_lots
        price = self.last_price(self._code)
        if price is None:
            return False
        unit = price if self._lot_size == 1 else price * self._lot_size  # one lot's value
        if unit * lots > limits.max_order_value:
            return False  # max_order_value (valued at the last price)
        buy = order.side is Side.BUY
        position = book.positions.get((account, self._code))
        held = position.lots if position else 0
        before = abs(held)
        after = max(before, abs(held + lots if buy else held - lots))
        if after > before and (
            after > limits.account_position_lots or unit * after > limits.gross_exposure
        ):  # max_position; gross_exposure: the account's value before plus the growth is the
            return False  # value of ``after`` lots (the account holds this instrument alone)
        budget = limits.budget
        if strategy and (limits.strategy_position_lots is not None or budget is not None):
            mine = book.strategy_positions.get(strategy)
            held = mine.lots if mine else 0
            mine_before = abs(held)
            mine_after = max(mine_before, abs(held + lots if buy else held - lots))
            if mine_after > mine_before:
                cap = limits.strategy_position_lots
                if cap is not None and mine_after > cap:
                    return False  # strategy_position
                if budget is not None and unit * mine_after > budget:
                    return False  # budget
        if strategy and self._window(self._strategy_rate, strategy).count(now) + 1 > (
            limits.strategy_rate
        ):
            return False  # orders_per_minute_strategy
        return self._window(self._account_rate, account).count(now) + 1 <= limits.account_rate

    def _fast_inputs(self, order: Order, now: float) -> CheckInput | None:
        """:meth:`RiskGate.inputs` when the account holds nothing but the backtest's instrument
        (then the other instruments' gross value is zero and one pass over the open orders
        gives every book); None otherwise (the live gate's way then)."""
        code, account, strategy = order.instrument, order.account, order.strategy
        if code != self._code or not self._fixed:
            return None
        book = self.book
        for acc, held in book.positions:
            if acc == account and held != code:
                return None
        opens = book.open_orders()
        resting: list[Order] = []
        acc_buy = acc_sell = mine_buy = mine_sell = 0
        for o in opens:
            if o.account == account:
                if o.instrument != code:
                    return None  # open elsewhere on the account: its gross value counts
                if o.id != order.id:
                    resting.append(o)
                    left = o.remaining_lots if o.is_open else 0
                    if o.side is Side.BUY:
                        acc_buy += left
                    else:
                        acc_sell += left
            if strategy and o.strategy == strategy and o.id != order.id and o.is_open:
                if o.side is Side.BUY:
                    mine_buy += o.remaining_lots
                else:
                    mine_sell += o.remaining_lots
        position = book.positions.get((account, code))
        account_book = Book(position.lots if position else 0, acc_buy, acc_sell)
        if strategy:
            mine = book.strategy_positions.get(strategy)
            strategy_book = Book(mine.lots if mine else 0, mine_buy, mine_sell)
        else:
            strategy_book = _EMPTY
        price = self.last_price(code)
        gross = _ZERO
        if price is not None:
            gross += price * account_book.worst * self._lot_size
        return CheckInput(
            order=order,
            instrument=self.instruments.get(code),
            last_price=price,
            limits=self._resolved(order).limits,
            state=TradingState.ACTIVE,
            account_book=account_book,
            strategy_book=strategy_book,
            account_gross=gross,
            market_open=UNKNOWN_STATUS.allows(order.type is OrderType.MARKET),
            resting=resting,
            strategy_orders=self._window(self._strategy_rate, strategy).count(now)
            if strategy
            else 0,
            account_orders=self._window(self._account_rate, account).count(now),
            check_session=self.settings.check_session,
            prevent_self_trade=self.settings.prevent_self_trade,
            market_note="",
        )

    def check(self, order: Order) -> Rejection | None:
        """:meth:`RiskGate.check`, asking only the rules that can refuse (module doc)."""
        now = self._clock()
        if self._passes(order, now):
            if order.strategy:
                self._window(self._strategy_rate, order.strategy).record(now)
            self._window(self._account_rate, order.account).record(now)
            return None
        fast = self._fast_inputs(order, now)
        rules: Sequence[Check] = checks.RULES
        if fast is None:
            fast = super().inputs(order)
        elif fast.instrument is not None:
            rules = self._resolved(order).rules
        rejection = first_rejection(fast, rules)
        if rejection is not None:
            self.rejections[rejection.rule] = self.rejections.get(rejection.rule, 0) + 1
            return rejection
        if order.strategy:
            self._window(self._strategy_rate, order.strategy).record(now)
        self._window(self._account_rate, order.account).record(now)
        return None


class BacktestGate:
    """``check(order)``: why the rules refuse ``order`` ("" when it may go), counted per rule."""

    def __init__(
        self,
        settings: RiskSettings,
        book: OrderManager,
        instrument: Instrument,
        *,
        clock: Callable[[], datetime | None],
        price: Callable[[], Decimal | None],
    ) -> None:
        def seconds() -> float:
            now = clock()
            return now.timestamp() if now is not None else 0.0

        self._gate = _BacktestRiskGate(
            settings,
            book,
            instrument,
            state=lambda: TradingState.ACTIVE,
            fallback_price=lambda _code: price(),
            clock=seconds,
        )

    @property
    def rejections(self) -> dict[str, int]:
        """Orders refused so far, per rule."""
        return dict(self._gate.rejections)

    def check(self, order: Order) -> str:
        rejection = self._gate.check(order)
        return "" if rejection is None else str(rejection)
