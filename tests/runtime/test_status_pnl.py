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
