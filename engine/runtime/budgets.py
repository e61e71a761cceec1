"""The worklist rows' capital budgets in money: share budgets resolved from the account's equity.

A row's ``budget`` is an amount (RUB) or a share of its account's equity (``"10%"``,
:class:`~engine.model.budget.Budget`). :class:`BudgetKeeper` asks the broker for the equity of
every account of the worklist (its cash plus the value of its positions at their last prices)
when the run starts, before any strategy trades, and again on the first heartbeat of each new
trading day (the MOEX day, on the market's clock: the simulated market's own time, or the
broker's server time); a share budget is that day's equity times the share. The risk gate's
``budget`` rule reads :meth:`BudgetKeeper.money`. A share budget whose account's equity is not
known (the broker could not tell yet) is 0: the row's orders that would grow its position are
refused until it is known, never sent unchecked. :meth:`BudgetKeeper.rows` is the account view
(the snapshot's ``budgets``): per row its budget as configured and in money, what its position
and open orders use, what is free, and the share of the account's equity it uses.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from engine.broker.base import Broker
from engine.model.budget import HUNDRED, KOPECK
from engine.model.snapshot import BudgetRow
from engine.risk.clock import trading_day
from engine.risk.control import RiskControl
from engine.risk.exposure import Book
from engine.runtime.parts import EngineParts
from engine.runtime.slots import SlotTable
from engine.runtime.tasks import TaskRunner

log = logging.getLogger("avin.risk")

RETRY_SECONDS = 30.0  # wall seconds between tries when the broker could not tell an equity
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Equity:
    """An account's equity as the broker told it, and the trading day it was taken for."""

    value: Decimal
    day: date | None
    ts: datetime | None  # market time it was taken at


class BudgetKeeper:
    def __init__(
        self,
        slots: SlotTable,
        broker: Callable[[], Broker],
        tasks: TaskRunner,
        *,
        default: Callable[[], Decimal | None],
        market_now: Callable[[], datetime | None],
        strategy_book: Callable[[str], Book],
        price: Callable[[str], Decimal | None],
        lot: Callable[[str], int],
        changed: Callable[[], None],
    ) -> None:
        self._slots = slots
        self._broker = broker
        self._tasks = tasks
        self._default = default  # [risk] default_budget (RUB) of a row without its own
        self._market_now = market_now
        self._strategy_book = strategy_book
        self._price = price
        self._lot = lot
        self._changed = changed
        self.equity: dict[str, Equity] = {}  # by account
        self.day: date | None = None  # the trading day the equities were taken for
        self._busy = False
        self._failed_at: float | None = None  # monotonic time of the last failed evaluation

    @classmethod
    def of(
        cls,
        parts: EngineParts,
        tasks: TaskRunner,
        risk: Callable[[], RiskControl],
        *,
        changed: Callable[[], None],
    ) -> BudgetKeeper:
        """The engine's keeper: its rows, broker and market time; the risk desk's default
        budget, the rows' worst-case books and the last prices (``risk``: built after it)."""
        return cls(
            parts.slots,
            lambda: parts.broker,
            tasks,
            default=lambda: risk().settings.default_budget,
            market_now=lambda: parts.market.now,
            strategy_book=lambda sid: risk().gate.strategy_book(sid),
            price=lambda code: risk().gate.last_price(code),
            lot=parts.lot_size,
            changed=changed,
        )

    # --- money ----------------------------------------------------------------------------------

    def money(self, strategy_id: str) -> Decimal | None:
        """The row's budget in RUB for the risk gate: the amount, or the share of its account's
        equity this trading day (0 while that equity is not known); None without a budget."""
        slot = self._slots.get(strategy_id)
        budget = slot.spec.budget if slot is not None else None
        if slot is None or budget is None:
            return None
        if not budget.is_share:
            return budget.amount
        equity = self.equity.get(slot.spec.account)
        if equity is None:
            self.schedule()  # a row on an account not seen yet (added at runtime)
            return ZERO
        return budget.money(equity.value)

    # --- evaluation -------------------------------------------------------------------------------

    def tick(self) -> None:
        """About once a second (the heartbeat): a new trading day re-evaluates the equities."""
        now = self._market_now()
        if now is not None and trading_day(now) != self.day:
            self.schedule()

    def schedule(self) -> None:
        """Re-evaluate on the engine loop (not while one runs; not sooner than
        :data:`RETRY_SECONDS` after a failure). Safe from any thread (a check of an order
        submitted from the UI's thread hands it to the loop)."""
        if self._busy or not self._tasks.open:
            return
        if not self._tasks.on_loop:
            self._tasks.in_loop(self.schedule)
            return
        if self._failed_at is not None and time.monotonic() - self._failed_at < RETRY_SECONDS:
            return
        self._busy = True
        try:
            self._tasks.spawn(self._evaluate_once(), "budgets")
        except RuntimeError:  # no running loop (the engine is stopping)
            self._busy = False

    async def _evaluate_once(self) -> None:
        try:
            await self.evaluate()
        finally:
            self._busy = False

    async def evaluate(self) -> bool:
        """Ask the broker for the equity of every account of the worklist; True when each was
        told (an account it could not tell keeps its previous equity, and a retry follows)."""
        now = self._market_now()
        day = trading_day(now) if now is not None else None
        accounts = sorted({slot.spec.account for slot in self._slots.all})
        broker = self._broker()
        ok = True
        try:
            cash = {a.id: a.cash for a in await broker.accounts()}
        except Exception as exc:  # the broker cannot tell now: keep what was known
            log.warning("budgets: the broker's accounts could not be read: %s", exc)
            cash, ok = {}, False
        for account in accounts:
            if account not in cash:  # not at the broker (its rows failed) or not readable now
                continue
            try:
                positions = await broker.positions(account)
            except Exception as exc:
                log.warning("budgets: the positions of %s could not be read: %s", account, exc)
                ok = False
                continue
            value = cash[account]
            for position in positions:  # at the last price (else the average price)
                price = position.last_price
                if price is None:
                    price = position.avg_price
                value += price * position.lots * position.lot_size
            self.equity[account] = Equity(value, day, now)
            self._log(account, value, day)
        self._failed_at = None if ok else time.monotonic()
        if ok:
            self.day = day
        self._changed()
        return ok

    def _log(self, account: str, equity: Decimal, day: date | None) -> None:
        shares = [
            f"{slot.id} {slot.spec.budget} = {_rub(slot.spec.budget.money(equity) or ZERO)}"
            for slot in self._slots.all
            if slot.spec.account == account and slot.spec.budget and slot.spec.budget.is_share
        ]
        if shares:
            log.info(
                "budgets of %s: equity %s (trading day %s): %s",
                account,
                _rub(equity),
                day.isoformat() if day else "not known",
                "; ".join(shares),
            )

    # --- the account view -------------------------------------------------------------------------

    def rows(self) -> tuple[BudgetRow, ...]:
        """Per row of the worklist: its budget as configured and in RUB, what its position and
        open orders use (worst case, at the last price), what is free, the share of equity."""
        default = self._default()
        out = []
        for slot in self._slots.all:
            spec = slot.spec
            budget = spec.budget
            configured = str(budget) if budget is not None else ""
            limit = self.money(slot.id)
            if budget is None and default is not None:
                configured, limit = f"{default} (default)", default
            code = slot.instrument_code or ""
            worst = self._strategy_book(slot.id).worst
            price = self._price(code) if code else None
            used = price * worst * self._lot(code) if price is not None and worst else ZERO
            used = used.quantize(KOPECK)
            equity = self.equity.get(spec.account)
            share = (
                (used * HUNDRED / equity.value).quantize(KOPECK)
                if equity is not None and equity.value > 0
                else None
            )
            out.append(
                BudgetRow(
                    strategy=slot.id,
                    account=spec.account,
                    instrument=spec.instrument,
                    budget=configured,
                    limit=limit,
                    used=used,
                    free=None if limit is None else limit - used,
                    equity=equity.value if equity is not None else None,
                    equity_day=equity.day.isoformat() if equity and equity.day else "",
                    share=share,
                )
            )
        return tuple(out)


def _rub(value: Decimal) -> str:
    return f"{value:,.2f} RUB"
