from pathlib import Path

import pytest

from engine.broker.tinvest.safety import LiveTradingRefused, mode_for
from engine.config import ConfigError, check_config, load_settings
from engine.model import Mode

EXAMPLE = Path(__file__).resolve().parents[1] / "configs" / "avin.example.toml"


def test_defaults_run_on_the_simulated_market() -> None:
    settings = load_settings()
    assert mode_for(settings) is Mode.SIM
    assert settings.ui.theme == "dark"


def test_token_means_sandbox_unless_live_is_explicit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AVIN_TOKEN", "t.example-not-a-real-token-000000000000")
    assert mode_for(load_settings()) is Mode.SANDBOX
    monkeypatch.setenv("AVIN_MODE", "live")
    with pytest.raises(LiveTradingRefused, match="--live was not given"):
        mode_for(load_settings())
    assert mode_for(load_settings(), live=True) is Mode.LIVE


def test_unknown_key_and_bad_value_name_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "avin.toml"
    path.write_text('mode = "sim"\ncolour = 1\n[sim]\nspeed = -1\n[ui]\ntheme = "pink"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    problems = {p.key: p for p in info.value.problems}
    assert set(problems) == {"colour", "sim.speed", "ui.theme"}
    assert problems["colour"].message == "unknown key"
    assert all(p.file == str(path) for p in problems.values())
    assert "greater than 0" in problems["sim.speed"].message


def test_bad_environment_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AVIN_SIM__SPEED", "fast")
    problems = check_config()
    assert len(problems) == 1
    assert problems[0].file == "environment (AVIN_SIM__SPEED)"
    assert problems[0].key == "sim.speed"


def test_syntax_error_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "avin.toml"
    path.write_text("mode = \n")
    [problem] = check_config(path)
    assert problem.key == "(syntax)" and "line 1" in problem.message


def test_bad_timeframe_in_a_strategy_row(tmp_path: Path) -> None:
    path = tmp_path / "avin.toml"
    path.write_text('[[strategies]]\nname = "sma_cross"\ninstrument = "SBER"\ntimeframe = "7M"\n')
    [problem] = check_config(path)
    assert problem.key == "strategies #1.timeframe"
    assert "unknown timeframe" in problem.message


def test_token_value_never_shown_in_problems(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AVIN_TOKEN", "t.secretsecretsecretsecret")
    monkeypatch.setenv("AVIN_MODE", "paper")
    problems = check_config()
    assert [p.key for p in problems] == ["mode"]
    assert not any("secretsecret" in str(p) for p in problems)


def test_example_config_is_valid() -> None:
    assert EXAMPLE.exists()
    assert check_config(EXAMPLE) == []


def test_a_named_config_that_is_not_there_is_a_problem_not_the_defaults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`avin run --config cofigs/my.toml` must not trade the simulated market on defaults."""
    missing = tmp_path / "cofigs" / "my.toml"
    with pytest.raises(ConfigError) as err:
        load_settings(missing)
    (problem,) = err.value.problems
    assert problem.file == str(missing) and problem.message == "no such file"
    assert "without --config avin reads" in problem.hint
    assert mode_for(load_settings(None)) is Mode.SIM  # the config home's avin.toml may be absent
    from avin_tui.cli import main

    assert main(["run", "--headless", "--config", str(missing)]) == 2
    assert "no such file" in capsys.readouterr().err
