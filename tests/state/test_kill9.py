"""kill -9 a real ``avin run --headless`` once it has fills, restart it, check what came back."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

AVIN = Path(sys.executable).with_name("avin")
FAST = "3000"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AVIN_")}
    env["AVIN_HOME"] = str(home)
    return env


def _journal(home: Path) -> list[tuple[str, str, dict]]:
    path = home / "state" / "journal.sqlite"
    if not path.exists():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        rows = db.execute(
            "SELECT kind, key, data FROM journal UNION ALL SELECT kind, key, data FROM archive "
            "ORDER BY 1"
        ).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()
    return [(k, key, json.loads(d)) for k, key, d in rows]


def _fills(home: Path) -> int:
    return sum(1 for kind, _, _ in _journal(home) if kind == "fill")


@pytest.mark.slow
def test_kill_9_then_restart_recovers(tmp_path: Path) -> None:
    assert AVIN.exists(), "run `.venv/bin/pip install -e .` first"
    env = _env(tmp_path)
    run = [str(AVIN), "run", "--headless", "--speed", FAST, "--seed", "5"]
    proc = subprocess.Popen(run, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 40
        while _fills(tmp_path) < 4 and time.monotonic() < deadline:
            assert proc.poll() is None, "avin exited early"
            time.sleep(0.2)
        assert _fills(tmp_path) >= 4, "no fills within 40 s"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    before = _journal(tmp_path)
    lots_before = Counter[str]()
    for kind, _key, data in before:
        if kind == "fill":
            lots_before[data["instrument"]] += data["lots"] * (1 if data["side"] == "buy" else -1)
    done = subprocess.run(
        [*run, "--duration", "3"], env=env, capture_output=True, text=True, timeout=90
    )
    assert done.returncode == 0, done.stderr[-2000:]
    status = json.loads(
        subprocess.run(
            [str(AVIN), "status", "--json"], env=env, capture_output=True, text=True, timeout=60
        ).stdout
    )
    assert status["recovered"] is True and status["trading_state"] == "ACTIVE"
    assert status["recovery"]["crashed"] is True and status["recovery"]["fresh_broker"] is True
    assert status["recovery"]["seconds"] >= 0  # a figure (bench/ times it), not a threshold
    after = _journal(tmp_path)
    intents = [key for kind, key, _ in after if kind == "intent"]
    assert intents and len(intents) == len(set(intents)), "an order key was sent twice"
    lots = Counter[str]()
    fill_ids = [data["fill_id"] for kind, _, data in after if kind == "fill"]
    assert len(fill_ids) == len(set(fill_ids))
    for kind, _key, data in after:
        if kind == "fill":
            lots[data["instrument"]] += data["lots"] * (1 if data["side"] == "buy" else -1)
    positions = {p["instrument"]: p["lots"] for p in status["positions"]}
    assert {k: v for k, v in positions.items() if v} == {k: v for k, v in lots.items() if v}
    assert lots_before  # the first run traded; its positions were carried into the second
