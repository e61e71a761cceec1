"""The same strategy on the same bars gives the same orders, fills and trades, every time."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.backtest import Backtester
from engine.broker.sim import SIM_INSTRUMENTS, generate_bars
from engine.strategy import build


def _signature(name: str, params: dict) -> list:
    inst = SIM_INSTRUMENTS[1]
    frame = generate_bars(inst, datetime(2024, 1, 8, tzinfo=UTC), datetime(2024, 1, 20, tzinfo=UTC))
    result = Backtester(build(name, params), inst).run(frame)
    return [
        [(f.side, f.lots, f.price, f.commission, f.ts) for f in result.fills],
        [(o.type, o.side, o.lots, o.price, o.stop_price, o.status) for o in result.orders],
        [(t.entry_ts, t.exit_ts, t.result) for t in result.trades],
        result.equity.tolist(),
    ]


def test_sma_cross_is_deterministic() -> None:
    first = _signature("sma_cross", {"fast": 5, "slow": 15})
    assert first[0], "the series should trade"
    assert first == _signature("sma_cross", {"fast": 5, "slow": 15})


def test_bracket_strategy_is_deterministic() -> None:
    first = _signature("zigzag_breakout", {})
    assert first == _signature("zigzag_breakout", {})
