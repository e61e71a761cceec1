"""``avin broker`` and ``avin sim-server`` on the paths the command tests do not take: no
sub-command, a broken config file, ``--live`` without the live mode, a token without accounts,
and a sim-server that runs for a while and stops by itself."""

from __future__ import annotations

import argparse
import asyncio
import socket
from pathlib import Path

import pytest

from avin_tui.cli import broker as commands
from engine.broker.fake_tinvest import DEFAULT_TOKEN, FakeTInvestServer


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="avin")
    commands.register(p.add_subparsers(dest="command"))
    return p


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AVIN_HOME", str(tmp_path))
    for name in ("AVIN_TOKEN", "AVIN_MODE", commands.TARGET_ENV):
        monkeypatch.delenv(name, raising=False)


def test_broker_without_a_sub_command_prints_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    args = parser().parse_args(["broker"])
    assert args.func(args) == commands.EXIT_CONFIG
    assert "check" in capsys.readouterr().out


def test_broker_check_with_a_broken_config_file_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "broken.toml"
    config.write_text('mode = "sometimes"\n')
    args = parser().parse_args(["broker", "check", "--config", str(config)])
    assert commands.cmd_broker_check(args) == commands.EXIT_CONFIG
    assert "mode" in capsys.readouterr().err


def test_broker_check_live_flag_without_live_mode_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AVIN_TOKEN", "t.some-token-for-the-refusal-test")
    args = parser().parse_args(["broker", "check", "--live", "--target", "example.com:443"])
    assert commands.cmd_broker_check(args) == commands.EXIT_CONFIG
    err = capsys.readouterr().err
    assert "--live given but the configured mode is not live" in err


async def test_broker_check_of_a_token_without_accounts_or_known_shares(
    server: FakeTInvestServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server.exchange.accounts.clear()
    server.exchange.instruments = [
        i for i in server.exchange.instruments if i.ticker not in ("SBER", "GAZP")
    ]
    monkeypatch.setenv("AVIN_TOKEN", DEFAULT_TOKEN)
    monkeypatch.setenv(commands.TARGET_ENV, server.target)
    args = parser().parse_args(["broker", "check"])
    code = await asyncio.to_thread(commands.cmd_broker_check, args)
    out = capsys.readouterr().out
    assert code == commands.EXIT_OK
    assert "no accounts (in the sandbox, avin opens one" in out
    assert "rate limit: limit=" in out
    assert "last price" not in out  # neither SBER nor GAZP is listed: no sample prices


def test_sim_server_runs_for_its_duration_and_stops(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:  # a port that is free now
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = parser().parse_args(
        ["sim-server", "--port", str(port), "--duration", "0.3", "--profile", "sandbox"]
    )
    assert commands.cmd_sim_server(args) == commands.EXIT_OK
    out = capsys.readouterr().out
    assert f"fake T-Invest server on 127.0.0.1:{port} (sandbox profile" in out
    assert f"token: {DEFAULT_TOKEN}" in out
    with socket.socket() as s:  # stopped: the port is free again
        s.bind(("127.0.0.1", port))
