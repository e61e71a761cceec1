from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from engine.model import Fill, Position, Side

T0 = datetime(2024, 3, 1, 7, tzinfo=UTC)
TINY = Decimal("1e-15")


def fill(side: Side, lots: int, price: str, commission: str = "0", minute: int = 0) -> Fill:
    return Fill(
        "k", "SBER", side, lots, Decimal(price), Decimal(commission), T0 + timedelta(minutes=minute)
    )


def test_round_trip_hand_computed() -> None:
    pos = Position("SBER", lot_size=10)
    pos.apply_fill(fill(Side.BUY, 2, "300.00", "0.30", 0))
    pos.apply_fill(fill(Side.BUY, 1, "303.00", "0.15", 1))
    assert pos.lots == 3 and pos.avg_price == Decimal(301)
    assert pos.unrealized(Decimal(305)) == Decimal(120)  # (305-301)*3*10
    pos.apply_fill(fill(Side.SELL, 3, "305.00", "0.46", 2))
    assert pos.is_flat
    assert pos.realized == Decimal(120)
    assert pos.commission == Decimal("0.91")
    [trade] = pos.trades
    assert trade.closed and trade.side is Side.BUY and trade.lots == 3
    assert trade.buy_value == Decimal(9030) and trade.sell_value == Decimal(9150)
    assert trade.result == Decimal("119.09")
    assert trade.exit_price == Decimal(305)


def test_flip_closes_and_opens() -> None:
    pos = Position("SBER", lot_size=1)
    pos.apply_fill(fill(Side.BUY, 2, "100", "2"))
    pos.apply_fill(fill(Side.SELL, 5, "110", "5", 1))
    assert pos.lots == -3 and pos.avg_price == Decimal(110)
    assert pos.realized == Decimal(20)
    first, second = pos.trades
    assert first.closed and first.result == Decimal(20) - Decimal(2) - Decimal(2)
    assert not second.closed and second.side is Side.SELL and second.commission == Decimal(3)
    pos.apply_fill(fill(Side.BUY, 3, "100", "0", 2))
    assert pos.is_flat and second.result == Decimal(27)


fills = st.lists(
    st.tuples(
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(1, 20),
        st.integers(1, 100_000).map(lambda c: Decimal(c) / 100),
    ),
    min_size=1,
    max_size=40,
)


@given(fills, st.integers(1, 100))
def test_accounting_conserves_cash(seq: list[tuple[Side, int, Decimal]], lot: int) -> None:
    """Realised + unrealised PnL equals the cash flow plus the marked value of what is held."""
    pos = Position("X", lot_size=lot)
    cash = Decimal(0)
    for i, (side, lots, price) in enumerate(seq):
        pos.apply_fill(fill(side, lots, str(price), "0", i))
        cash -= side.sign * lots * lot * price
    net = sum(s.sign * n for s, n, _ in seq)
    assert pos.lots == net
    mark = seq[-1][2]
    # average prices are Decimal quotients: equal to far below a kopeck
    assert abs(pos.realized + pos.unrealized(mark) - (cash + net * lot * mark)) < TINY
    open_trade = pos.open_trade
    flows = sum(t.sell_value - t.buy_value for t in pos.trades)
    assert flows == cash
    assert sum(t.result for t in pos.trades if t.closed) == sum(
        t.sell_value - t.buy_value for t in pos.trades if t is not open_trade
    )
