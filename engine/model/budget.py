"""A worklist row's capital budget: an amount of money, or a share of its account's equity.

Written in the worklist as ``budget = 100000`` (RUB) or ``budget = "10%"`` (of the account's
equity). :meth:`Budget.parse` reads both and says what is wrong with anything else; a share
becomes money with :meth:`Budget.money` from the account's equity (the runtime re-evaluates it
once per trading day, engine/runtime/budgets.py). Decimal throughout.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

HUNDRED = Decimal(100)
KOPECK = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Budget:
    """Exactly one of ``amount`` (RUB) and ``percent`` (of the account's equity) is set."""

    amount: Decimal | None = None
    percent: Decimal | None = None

    @property
    def is_share(self) -> bool:
        return self.percent is not None

    def __str__(self) -> str:
        """As written in the worklist: ``100000`` or ``10%``."""
        if self.percent is not None:
            return f"{self.percent.normalize():f}%"
        return f"{self.amount}"

    def problem(self) -> str:
        """What is wrong with this budget ("" when nothing)."""
        if (self.amount is None) == (self.percent is None):
            return 'give either an amount (RUB) or a share of equity ("10%")'
        if self.percent is not None:
            if not self.percent.is_finite() or not 0 < self.percent <= HUNDRED:
                return "a share of equity must be more than 0% and at most 100%"
        elif self.amount is not None and (not self.amount.is_finite() or self.amount <= 0):
            return "an amount must be a positive number of RUB"
        return ""

    def money(self, equity: Decimal | None) -> Decimal | None:
        """The budget in RUB: the amount, or the share of ``equity`` (rounded down to the
        kopeck; a negative equity gives 0). None for a share while the equity is not known."""
        if self.percent is None:
            return self.amount
        if equity is None:
            return None
        share = max(equity, Decimal(0)) * self.percent / HUNDRED
        return share.quantize(KOPECK, rounding=ROUND_DOWN)

    @classmethod
    def parse(cls, value: Any) -> Budget:
        """A budget from the worklist: a number (RUB), a numeric string, or ``"N%"``.

        Raises ValueError saying what is wrong (``"150%"``, ``"-5%"``, ``"abc%"``, ``0``)."""
        if isinstance(value, Budget):
            budget = value
        elif isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
            raise ValueError(
                'a budget is an amount of RUB (100000) or a share of equity ("10%"), '
                f"not {type(value).__name__}"
            )
        elif isinstance(value, str) and value.strip().endswith("%"):
            number = "".join(value.strip()[:-1].split()).replace("_", "")
            try:
                percent = Decimal(number)
            except InvalidOperation:
                raise ValueError(
                    'not a share of equity: write a number before % ("10%", "2.5%")'
                ) from None
            budget = cls(percent=percent)
        else:
            # thousands written as the panes show them (25 000) or as 25_000, 25,000
            text = "".join(str(value).split()).replace("_", "").replace(",", "")
            try:
                amount = Decimal(text)
            except InvalidOperation:
                raise ValueError(
                    'not a budget: an amount of RUB (100000) or a share of equity ("10%")'
                ) from None
            budget = cls(amount=amount)
        problem = budget.problem()
        if problem:
            raise ValueError(problem)
        return budget

    @classmethod
    def coerce(cls, value: Any) -> Budget | None:
        """None stays None, a Budget stays itself; an amount (Decimal, int) becomes one
        unchecked (:meth:`problem` tells later, e.g. in the checks of a new row)."""
        if value is None or isinstance(value, Budget):
            return value
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            return cls(amount=Decimal(value))
        return cls.parse(value)
