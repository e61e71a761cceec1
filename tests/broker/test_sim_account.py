"""The account a restarted simulated market goes on with (engine/broker/sim/account.py): the cash
derived from the restored positions equals the cash the market itself had counted."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.broker.sim import SimBroker
from engine.broker.sim.account import carried
from engine.model import Fill, Position, Side

T0 = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
START = Decimal(1_000_000)

fills = st.lists(
    st.tuples(
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(1, 7),
        st.integers(1, 40_000).map(lambda n: Decimal(n) / 100),  # a 0.01 price step
        st.integers(0, 500).map(lambda n: Decimal(n) / 100),  # commission, to the kopeck
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(fills=fills, lot=st.sampled_from([1, 10, 100]))
def test_the_cash_follows_from_the_positions(
    fills: list[tuple[Side, int, Decimal, Decimal]], lot: int
) -> None:
    position = Position("MOEX_SHARE_SBER", lot_size=lot, account="sim-1")
    cash = START
    for n, (side, lots, price, commission) in enumerate(fills):
        fill = Fill(f"o{n}", "MOEX_SHARE_SBER", side, lots, price, commission, T0, account="sim-1")
        position.apply_fill(fill)
        value = price * lots * lot
        cash += -value - commission if side is Side.BUY else value - commission  # as the market
    held, derived = carried(START, [position])
    assert derived == cash
    copy = held["MOEX_SHARE_SBER"]
    assert (copy.lots, copy.avg_price, copy.realized) == (
        position.lots,
        position.avg_price,
        position.realized,
    )
    assert copy is not position
    assert copy.trades == ([position.trades[-1]] if position.open_trade is not None else [])


def test_only_a_market_that_has_not_traded_takes_an_account() -> None:
    broker = SimBroker(seed=7, start=T0, realtime=False)
    long = Position("MOEX_SHARE_SBER", lot_size=10, lots=2, avg_price=Decimal("300.5"))
    assert not broker.carry_over("sim-2", [long])  # not its account
    assert broker.carry_over("sim-1", [long])
    assert broker.cash == START - Decimal("6010.00")
    assert not broker.carry_over("sim-1", [long])  # it holds an account already
