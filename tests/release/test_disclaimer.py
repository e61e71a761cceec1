"""The risk disclaimer: accepted once before a run against a broker, never asked for SIM."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from avin_tui.cli import build_parser, errors, main
from engine import disclaimer
from engine.broker.base import BrokerError
from engine.config import load_settings
from engine.disclaimer import DISCLAIMER_VERSION, require_acceptance, stored_acceptance
from engine.paths import homes

TOKEN = "t." + "disclaimer-test-" + "x" * 20


@pytest.fixture(autouse=True)
def _no_acceptance_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AVIN_ACCEPT_RISK", raising=False)


def _never_asked(_: str) -> bool:
    raise AssertionError("the prompt must not be shown")


def test_sim_needs_no_acceptance_and_stores_nothing(tmp_path: Path) -> None:
    outcome = require_acceptance(tmp_path, against_broker=False, ask=_never_asked)
    assert outcome.accepted and outcome.how == "not needed"
    assert not (tmp_path / disclaimer.RECORD_NAME).exists()


def test_broker_run_without_any_acceptance_is_refused_with_what_to_do(tmp_path: Path) -> None:
    outcome = require_acceptance(tmp_path, against_broker=True)
    assert not outcome.accepted
    assert "--accept-risk" in outcome.message and "accept_risk = true" in outcome.message
    assert stored_acceptance(tmp_path) is None


@pytest.mark.parametrize(("answer", "accepted"), [("yes", True), ("no", False), ("", False)])
def test_interactive_prompt(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    answer: str,
    accepted: bool,
) -> None:
    monkeypatch.setattr("builtins.input", lambda _prompt: answer)
    outcome = require_acceptance(tmp_path, against_broker=True, ask=disclaimer.prompt_on_terminal)
    assert outcome.accepted is accepted
    assert "All trading risk is yours" in capsys.readouterr().out
    assert (stored_acceptance(tmp_path) is not None) is accepted
    if not accepted:
        assert "not accepted" in outcome.message


def test_prompt_at_end_of_input_declines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def eof(_prompt: str) -> str:
        raise EOFError

    monkeypatch.setattr("builtins.input", eof)
    assert not require_acceptance(
        tmp_path, against_broker=True, ask=disclaimer.prompt_on_terminal
    ).accepted


@pytest.mark.parametrize(("flag", "key", "how"), [(True, False, "flag"), (False, True, "config")])
def test_flag_or_config_key_accepts_and_is_stored(
    tmp_path: Path, flag: bool, key: bool, how: str
) -> None:
    outcome = require_acceptance(
        tmp_path, against_broker=True, flag=flag, config_key=key, ask=_never_asked
    )
    assert outcome.accepted and outcome.how == how
    record = json.loads((tmp_path / disclaimer.RECORD_NAME).read_text())
    assert record["version"] == DISCLAIMER_VERSION and record["how"] == how
    assert record["accepted_at"].endswith("+00:00")  # UTC


def test_stored_acceptance_is_enough_next_time(tmp_path: Path) -> None:
    require_acceptance(tmp_path, against_broker=True, flag=True)
    again = require_acceptance(tmp_path, against_broker=True, ask=_never_asked)
    assert again.accepted and again.how == "stored"


@pytest.mark.parametrize("content", ["not json", '{"version": 0}', "[1, 2]"])
def test_an_unreadable_or_older_record_asks_again(tmp_path: Path, content: str) -> None:
    (tmp_path / disclaimer.RECORD_NAME).write_text(content)
    assert not require_acceptance(tmp_path, against_broker=True).accepted


def test_config_key_is_a_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert load_settings(None).accept_risk is False
    config = tmp_path / "avin.toml"
    config.write_text("accept_risk = true\n")
    assert load_settings(config).accept_risk is True
    monkeypatch.setenv("AVIN_ACCEPT_RISK", "true")
    assert load_settings(None).accept_risk is True


# --- through `avin run` ------------------------------------------------------------------------


def _refusing_engine(*_: object, **__: object) -> None:
    raise AssertionError("the engine must not be built")


def test_run_against_the_sandbox_without_acceptance_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AVIN_TOKEN", TOKEN)
    monkeypatch.setattr("engine.runtime.launch.build_engine", _refusing_engine)
    assert main(["run", "--headless", "--duration", "1"]) == errors.EXIT_CONFIG
    err = capsys.readouterr().err
    assert "--accept-risk" in err and TOKEN not in err
    assert stored_acceptance(homes().config) is None


@pytest.mark.parametrize("how", ["flag", "env"])
def test_run_against_the_sandbox_with_acceptance_goes_on_to_the_broker(
    monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    def reached(*_: object, **__: object) -> None:
        raise BrokerError("reached the broker")

    monkeypatch.setenv("AVIN_TOKEN", TOKEN)
    monkeypatch.setattr("engine.runtime.launch.build_engine", reached)
    argv = ["run", "--headless", "--duration", "1"]
    if how == "flag":
        argv.append("--accept-risk")
    else:
        monkeypatch.setenv("AVIN_ACCEPT_RISK", "true")
    assert main(argv) == errors.EXIT_UNAVAILABLE  # past the disclaimer, on to the broker
    assert stored_acceptance(homes().config) is not None


def test_headless_sim_run_needs_no_acceptance(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--headless", "--duration", "1", "--speed", "600"]) == 0
    assert stored_acceptance(homes().config) is None


def test_help_shows_the_disclaimer(capsys: pytest.CaptureFixture[str]) -> None:
    text = build_parser().format_help()
    assert "All trading risk is yours" in text and "guarantees nothing" in text


def test_version_names_version_commit_and_build_date(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("avin 0.") and "commit " in out and "built " in out
