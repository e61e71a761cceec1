"""Two real ``avin run --headless`` processes on one AVIN_HOME: the second carries on trading.

The user's check of issue 13 (defect 1): after a clean stop, the next start fills its orders, no
signal is refused as a self-trade against an order left "working" from before, and the simulated
market goes on from where the first run stopped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

AVIN = Path(sys.executable).with_name("avin")
SPEED = "1200"  # five simulated minutes per real second: a few crosses per run


def _avin(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AVIN_")}
    env["AVIN_HOME"] = str(home)
    return subprocess.run([str(AVIN), *args], env=env, capture_output=True, text=True, timeout=90)


def _market_ts(home: Path) -> str:
    status = _avin(home, "status", "--json")
    return str(json.loads(status.stdout)["market_ts"])


@pytest.mark.slow
def test_a_second_headless_run_carries_on_trading(tmp_path: Path) -> None:
    assert AVIN.exists(), "run `.venv/bin/pip install -e .` first"
    first = _avin(tmp_path, "run", "--headless", "--duration", "4", "--speed", SPEED)
    assert first.returncode == 0, first.stderr[-2000:]
    out1 = first.stdout + first.stderr
    assert " filled: " in out1, out1[-2000:]  # the first run traded: its fill ids are stored
    stopped_at = _market_ts(tmp_path)

    second = _avin(tmp_path, "run", "--headless", "--duration", "5", "--speed", SPEED)
    out2 = second.stdout + second.stderr
    assert second.returncode == 0, out2[-2000:]
    assert "self_trade" not in out2, out2[-3000:]
    assert " filled: " in out2, out2[-3000:]
    assert "the simulated market carries on from" in out2
    assert _market_ts(tmp_path) > stopped_at
    status = json.loads(_avin(tmp_path, "status", "--json").stdout)
    assert status["trading_state"] == "ACTIVE"
    assert status["open_orders"] == [], status["open_orders"]
