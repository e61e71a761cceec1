"""Instrument price rounding: the nearest multiple of the step, half up, in the step's exponent."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from engine.model import Instrument

STEPS = ["0.01", "0.1", "1", "10", "0.0005", "0.5", "0.02", "2.5", "0.001"]


def by_steps(step: Decimal, price: Decimal | float) -> Decimal:
    """The definition: count the steps (half up), multiply back."""
    steps = (Decimal(str(price)) / step).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return (steps * step).quantize(step)


@given(
    step=st.sampled_from(STEPS),
    price=st.one_of(
        st.floats(0.0001, 1e6), st.decimals("0.0001", "1000000", places=5), st.integers(1, 10**6)
    ),
)
def test_round_price_is_the_nearest_step_half_up(step: str, price: float | Decimal) -> None:
    inst = Instrument("MOEX", "SHARE", "T", "uid", "", "TQBR", 1, Decimal(step))
    got = inst.round_price(price)
    want = by_steps(Decimal(step), price)
    assert got == want and str(got) == str(want)
    assert got % Decimal(step) == 0


def test_half_steps_round_up_and_the_code_is_derived() -> None:
    inst = Instrument("moex", "share", "sber", "uid", "", "TQBR", 10, Decimal("0.01"))
    assert inst.code == "MOEX_SHARE_SBER"
    assert inst.round_price(100.375) == Decimal("100.38")
    assert inst.round_price(Decimal("100.365")) == Decimal("100.37")
    half = Instrument("moex", "share", "x", "uid", "", "TQBR", 1, Decimal("0.5"))
    assert half.round_price(10.25) == Decimal("10.5")
    assert half.round_price(10.24) == Decimal("10.0")
