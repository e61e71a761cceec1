"""The snapshot JSON (``avin status --json``, the control API) decodes back into the snapshot."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from engine.model import Mode
from engine.model.snapshot import (
    EngineSnapshot,
    OrderRow,
    PositionRow,
    StrategyRow,
    TradingState,
)

T = datetime(2026, 12, 4, 14, 33, 54, 123456, tzinfo=UTC)


def _snapshot() -> EngineSnapshot:
    return EngineSnapshot(
        version=42,
        mode=Mode.SANDBOX,
        trading_state=TradingState.REDUCING,
        running=True,
        connected=False,
        pid=4321,
        recovered=True,
        heartbeat_ts=T,
        market_ts=None,
        last_event_ts=T,
        strategies=(
            StrategyRow(
                "s1",
                "sma_cross",
                "MOEX_SHARE_SBER",
                "sim-1",
                "held",
                -3,
                Decimal("-12.50"),
                "boom",
                "reduce",
                Decimal("0.0300"),
            ),
        ),
        orders=(
            OrderRow(
                "k" * 32,
                "MOEX_SHARE_SBER",
                "buy",
                "limit",
                5,
                2,
                Decimal("301.10"),
                "partially_filled",
                T,
                "s1",
                "sim-1",
                "",
            ),
            OrderRow("m" * 32, "MOEX_SHARE_GAZP", "sell", "market", 1, 0, None, "rejected", None),
        ),
        positions=(
            PositionRow(
                "sim-1",
                "MOEX_SHARE_SBER",
                -3,
                Decimal("300.5"),
                None,
                Decimal("1E+1"),
                Decimal("0"),
                Decimal("0.03"),
                Decimal("-12.50"),
            ),
        ),
        instruments=("MOEX_SHARE_SBER", "MOEX_SHARE_GAZP"),
        started=False,
        counters={"events": 7, "fills": 1},
        halt_reason="manual: control reduce",
    )


def test_the_json_decodes_back_into_the_same_snapshot() -> None:
    snap = _snapshot()
    wire = json.loads(json.dumps(snap.to_json()))  # through text, as the control API sends it
    back = EngineSnapshot.from_json(wire)
    assert back == snap
    assert back.open_orders == snap.open_orders
    assert back.pnl == snap.pnl


def test_keys_an_older_robot_did_not_write_take_their_defaults() -> None:
    data = _snapshot().to_json()
    for key in ("version", "instruments", "started", "risk", "counters", "halt_reason"):
        del data[key]
    back = EngineSnapshot.from_json(data)
    assert (back.version, back.instruments, back.started, back.risk) == (0, (), True, {})


def test_a_bad_value_says_what_is_wrong() -> None:
    data = _snapshot().to_json()
    data["trading_state"] = "PANIC"
    with pytest.raises(ValueError, match="PANIC"):
        EngineSnapshot.from_json(data)
