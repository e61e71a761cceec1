"""Redaction over everything avin writes: a headless run against the fake T-Invest server (a
strategy that logs the token and fails quoting it: a traceback in the log, the error in the state
and the status store), ``status``, ``kill`` (an incident), a backtest with its report and trade
export, a data import with a quarantine file, all with the token in the environment; then EVERY
file under AVIN_HOME (logs, the SQLite journal, the diskcache status store, Parquet reports and
tick files, exports) and every command's output is searched for the token as bytes and for any
12-character piece of it (a token cut in half still leaks). The run hides account ids
(``[privacy] hide_accounts``): the account id the strategy logs and fails with is checked to stay
in the state (the journal and the stores need it) and nowhere else: not in ``avin.log``, not in
``incidents.log``, no report, export or command output."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.broker.fake_tinvest import FakeExchange, FakeTInvestServer
from tests.state.test_chaos import ServerThread
from tests.tinvest.helpers import START

LEAKY = Path(__file__).with_name("leaky_run.py")
TOKEN = "t.Redact" + secrets.token_urlsafe(40).replace("-", "x").replace("_", "y")
CONFIG = """
[privacy]
hide_accounts = true

[[strategies]]
name = "test_leaky"
instrument = "SBER"
timeframe = "1M"
"""


def pieces(secret: str, size: int = 12) -> list[bytes]:
    """Every ``size``-long piece of the secret part (after ``t.``), as UTF-8 and UTF-16."""
    body = secret[2:]
    found = [body[i : i + size] for i in range(0, len(body) - size + 1)]
    return [p.encode() for p in found] + [p.encode("utf-16-le") for p in found]


def leaks(data: bytes, secret: str) -> list[str]:
    return sorted({p.decode(errors="replace") for p in pieces(secret) if p in data})


@pytest.fixture
def server() -> Iterator[FakeTInvestServer]:
    box = ServerThread()
    box.server = FakeTInvestServer(
        token=TOKEN, exchange=FakeExchange(start=START, speed=300.0), profile="sandbox"
    )
    try:
        box.start()
        yield box.server
    finally:
        box.stop()


def _env(home: Path, server: FakeTInvestServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AVIN_")}
    env.update(
        AVIN_HOME=str(home),
        AVIN_TOKEN=TOKEN,
        AVIN_TINVEST_TARGET=server.target,
        AVIN_ACCEPT_RISK="true",
    )
    return env


def _run(env: dict[str, str], *args: str, ok: bool = True) -> str:
    done = subprocess.run(
        [sys.executable, str(LEAKY), *args], env=env, capture_output=True, text=True, timeout=120
    )
    if ok:
        assert done.returncode == 0, (args, done.stderr[-3000:])
    return done.stdout + done.stderr


def _wait(what: str, done: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _around(text: str, secret: str) -> str:
    """The text near the first leaked piece (for the failure message)."""
    piece = leaks(text.encode(), secret)[0]
    at = text.find(piece)
    return text[max(0, at - 300) : at + 100]


def test_the_piece_search_finds_a_token_cut_in_half() -> None:
    assert leaks(b"... " + TOKEN[:20].encode() + b"***", TOKEN)
    assert leaks(TOKEN[10:].encode("utf-16-le"), TOKEN)
    assert not leaks(b"t.*** and Bearer ***", TOKEN)


@pytest.mark.slow
def test_no_file_avin_wrote_holds_the_token(tmp_path: Path, server: FakeTInvestServer) -> None:
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True, mode=0o700)
    (home / "config" / "avin.toml").write_text(CONFIG)
    env = _env(home, server)
    outputs: list[str] = []
    log = home / "logs" / "avin.log"
    incidents = home / "logs" / "incidents.log"
    console = tmp_path / "console.txt"  # a file: a pipe read only at the end can fill and block
    with console.open("w") as sink:
        proc = subprocess.Popen(
            [sys.executable, str(LEAKY), "run", "--headless"],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        _wait("the start", lambda: log.exists() and "engine started" in log.read_text(), 60)
        _wait("the strategy's failure", lambda: "leaky strategy failed" in log.read_text(), 90)
        outputs.append(_run(env, "status", "--json"))
        outputs.append(_run(env, "kill", "--reason", "redaction test"))
        _wait("the halt's incident", lambda: incidents.exists() and incidents.stat().st_size, 30)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        outputs.append(console.read_text())
    text = log.read_text()
    assert "token=***" in text and "Bearer ***" in text, text[-3000:]  # the lines were written

    bars = tmp_path / "bars.csv"
    lines = ["ts,open,high,low,close,volume"]
    for i in range(300):
        price = 100 + (i % 17) - (i % 5)
        lines.append(
            f"2024-03-01T{7 + i // 60:02d}:{i % 60:02d}:00Z,{price},{price + 1},{price - 1},{price},5"
        )
    bars.write_text("\n".join(lines) + "\n")
    exports = home / "exports"
    exports.mkdir(mode=0o700)
    outputs.append(
        _run(
            env, "backtest", "sma_cross", "--data", str(bars), "--param", "fast=3",
            "--param", "slow=8", "--quiet", "--trades-out", str(exports / "trades.csv"),
        )
    )  # fmt: skip
    bad = tmp_path / "bad.csv"
    bad.write_text("date;time;open;high;low;close;volume\n2024-03-01;10:00;x;1;1;1;1\n")
    outputs.append(_run(env, "data", "import", "--ticker", "SBER", str(bad), ok=False))

    written = [p for p in home.rglob("*") if p.is_file()]
    names = {p.relative_to(home).as_posix() for p in written}
    for expected in ("logs/avin.log", "logs/incidents.log", "state/journal.sqlite"):
        assert expected in names, sorted(names)
    assert any(n.startswith("data/backtests/") for n in names), sorted(names)
    assert any(n.startswith("exports/") for n in names), sorted(names)
    found = {p.relative_to(home).as_posix(): leaks(p.read_bytes(), TOKEN) for p in written}
    assert {name: hit for name, hit in found.items() if hit} == {}, "the token in files"
    said = {i: _around(o, TOKEN) for i, o in enumerate(outputs) if leaks(o.encode(), TOKEN)}
    assert said == {}, "the token on the terminal"
    # the account id is no secret to avin (the journal needs it to recover orders), but with
    # hide_accounts it stays in the state: the logs, reports, exports, quarantine and market-data
    # files and what the commands printed show it masked
    [account] = server.exchange.accounts
    masked = "…" + account[-4:]
    assert f"on account {masked}" in text, text[-3000:]  # the strategy's line, masked
    holding = {
        p.relative_to(home).as_posix() for p in written if account.encode() in p.read_bytes()
    }
    assert "state/journal.sqlite" in holding, sorted(holding)
    assert {n for n in holding if not n.startswith("state/")} == set()
    assert [i for i, o in enumerate(outputs) if account in o] == [], "the account on the terminal"


def test_a_strategy_error_is_kept_redacted() -> None:
    """Before: the slot kept the exception text as it was, and the state, the status store and
    the strategies pane showed the token a failing strategy quoted."""
    from engine.model.redact import register_secret
    from engine.runtime.slots import StrategySlot
    from engine.runtime.worklist import StrategySpec

    register_secret(TOKEN)
    slot = StrategySlot("s", StrategySpec("sma_cross", "SBER"))
    slot.error = f"on_bar: RuntimeError: failed with {TOKEN}"
    assert slot.error == "on_bar: RuntimeError: failed with ***"
    slot.error = ""
    assert slot.error == ""


def test_the_headless_console_masks_secrets() -> None:
    """Before: ``avin run --headless`` wrote its lines to stderr (a systemd journal) unmasked."""
    import logging

    from engine.model.redact import register_secret
    from engine.runtime.logbook import LOG_FORMAT, RedactingFormatter

    register_secret(TOKEN)
    record = logging.LogRecord("avin.x", logging.INFO, __file__, 1, "auth %s", (TOKEN,), None)
    assert TOKEN not in RedactingFormatter(LOG_FORMAT).format(record)
