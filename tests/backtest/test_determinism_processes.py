"""Determinism across processes: the same backtest run in two fresh interpreters with different
hash seeds (set and dict iteration orders differ) gives identical orders, fills and trades, and
the same as this process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.backtest.test_determinism import _signature

ROOT = Path(__file__).resolve().parents[2]
CASES = [("sma_cross", {"fast": 5, "slow": 15}), ("zigzag_breakout", {})]
CHILD = (
    "import sys, json; from tests.backtest.test_determinism import _signature; "
    "print(repr(_signature(sys.argv[1], json.loads(sys.argv[2]))))"
)


def _in_child(name: str, params: dict, seed: str) -> str:
    import json

    env = {**os.environ, "PYTHONHASHSEED": seed}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, name, json.dumps(params)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip()


@pytest.mark.slow
@pytest.mark.parametrize(("name", "params"), CASES, ids=[c[0] for c in CASES])
def test_the_same_backtest_in_two_processes_with_different_hash_seeds(
    name: str, params: dict
) -> None:
    first = _in_child(name, params, "1")
    second = _in_child(name, params, "2024")
    assert first == second
    here = repr(_signature(name, params))
    assert first == here
    assert not here.startswith("[[],"), "the series should trade"
