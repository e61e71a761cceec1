"""Instruments: identity at the exchange and at the broker, lot and price step."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True, slots=True)
class Instrument:
    """One tradable instrument, e.g. ``MOEX_SHARE_SBER``.

    ``lot`` is the number of shares per lot, ``step`` the minimum price increment: every order
    price must be a multiple of it.
    """

    exchange: str
    category: str
    ticker: str
    uid: str
    figi: str
    class_code: str
    lot: int
    step: Decimal
    currency: str = "rub"
    name: str = ""

    code: str = field(init=False, repr=False, compare=False)  # EXCHANGE_CATEGORY_TICKER
    _tenth: bool = field(init=False, repr=False, compare=False)  # the step is a power of ten

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", f"{self.exchange}_{self.category}_{self.ticker}".upper())
        object.__setattr__(self, "_tenth", self.step.as_tuple().digits == (1,))

    def is_price_valid(self, price: Decimal) -> bool:
        return price > 0 and (price % self.step) == 0

    def round_price(self, price: Decimal | float) -> Decimal:
        """The nearest valid price (half up), quantised to the step's exponent."""
        value = Decimal(str(price))
        if self._tenth:  # 0.01, 1, 10...: rounding to the step is quantising to it
            return value.quantize(self.step, rounding=ROUND_HALF_UP)
        steps = (value / self.step).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return (steps * self.step).quantize(self.step)

    def value(self, price: Decimal, lots: int) -> Decimal:
        """Money value of ``lots`` lots at ``price`` per share."""
        return price * lots * self.lot

    def __str__(self) -> str:
        return self.code


def parse_code(code: str) -> tuple[str, str, str]:
    """Split ``MOEX_SHARE_SBER`` (any case) into (exchange, category, ticker), upper-cased.

    A bare ticker (``sber``) is taken to be a MOEX share.
    """
    parts = code.strip().upper().split("_", 2)
    if len(parts) == 1 and parts[0]:
        return "MOEX", "SHARE", parts[0]
    if len(parts) != 3 or not all(parts):
        raise ValueError(
            f"bad instrument code {code!r}: use EXCHANGE_CATEGORY_TICKER, e.g. MOEX_SHARE_SBER"
        )
    return parts[0], parts[1], parts[2]
