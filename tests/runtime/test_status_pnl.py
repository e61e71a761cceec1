"""``avin status`` tells one P&L net of fees, with the commission (issue 13, defect 3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from avin_tui.cli import main
from engine.paths import homes
from engine.runtime.worklist import StrategySpec
from engine.state.embedded import DiskcacheStore

from .simkit import Driver

PLAN = StrategySpec("test_script", "SBER", params={"plan": {"2": 2}})


async def test_status_prints_the_net_pnl_the_commission_and_held(
    avin_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = DiskcacheStore(homes().ensure().state)
    async with Driver([PLAN], store=store) as d:
        await d.minutes(4)
        d.engine.kill("test")
        snap = d.engine.snapshot()
    store.close()
    assert snap.commission > 0 and snap.pnl != snap.positions[0].unrealized
    capsys.readouterr()
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert f"P&L {snap.pnl} (net of {snap.commission} commission)" in out
    assert main(["status", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["pnl"] == str(snap.pnl) and data["commission"] == str(snap.commission)
    (row,) = data["positions"]
    assert row["pnl"] == str(snap.pnl) and data["strategies"][0]["pnl"] == str(snap.pnl)


def test_a_position_that_went_flat_before_a_restart_keeps_its_money_in_the_rows() -> None:
    """A flat position comes back from the snapshot without its round trips but with its realised
    PnL and commission: it stays a row (and in the totals). Before, ``avin status`` and the table
    dropped it after a restart, and the P&L with it (found by the chaos test)."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from engine.model import Fill, Position, Side
    from engine.runtime.rows import position_rows
    from engine.state.codec import decode_position, encode_position

    ts = datetime(2025, 3, 3, 7, 0, tzinfo=UTC)
    position = Position("MOEX_SHARE_LKOH", lot_size=1, account="acc-1")
    position.apply_fill(
        Fill("k1", "MOEX_SHARE_LKOH", Side.BUY, 1, Decimal("100"), Decimal("1"), ts)
    )
    position.apply_fill(
        Fill("k2", "MOEX_SHARE_LKOH", Side.SELL, 1, Decimal("110"), Decimal("1"), ts)
    )
    assert position.is_flat and [r.realized for r in position_rows([position])] == [Decimal(10)]
    restored = decode_position(encode_position(position))
    assert restored.is_flat and not restored.trades  # what a restart brings back
    (row,) = position_rows([restored])
    assert (row.lots, row.realized, row.commission) == (0, Decimal(10), Decimal(2))
    assert row.pnl == Decimal(8)
    assert position_rows([Position("MOEX_SHARE_SBER", lot_size=10, account="acc-1")]) == ()
