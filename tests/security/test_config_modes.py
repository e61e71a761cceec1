"""A file holding a secret that the group or others can read is refused, as ssh refuses such a key:
the config file with ``token`` or ``state.dsn``, the config home's ``token`` and ``env`` files and
an AVIN_TOKEN_FILE of ours. The refusal says what to do (chmod 600 FILE) and never the secret."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from engine.config import ConfigError, check_config, load_settings
from engine.paths import homes

SECRET = "t.Secret-0123456789abcdefABCDEF"


def _write(path: Path, text: str, mode: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def _refusal() -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings()
    return str(caught.value)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_a_config_with_the_token_open_to_others_is_refused_with_its_fix(mode: int) -> None:
    path = _write(homes().config_file, f'token = "{SECRET}"\n', mode)
    text = _refusal()
    assert f"chmod 600 {path}" in text
    assert f"mode {mode:04o}" in text and "`token`" in text
    assert SECRET not in text
    path.chmod(0o600)
    secret = load_settings().token
    assert secret is not None and secret.get_secret_value() == SECRET


def test_a_config_without_a_secret_may_be_readable() -> None:
    _write(homes().config_file, 'mode = "sim"\n', 0o644)
    assert check_config() == []


def test_a_postgres_dsn_is_a_secret_too() -> None:
    _write(
        homes().config_file,
        '[state]\nengine = "postgres"\ndsn = "postgresql://avin:pw@db/avin"\n',
        0o644,
    )
    text = _refusal()
    assert "`state.dsn`" in text and "pw@" not in text


def test_the_systemd_environment_file_with_the_token_open_to_others_is_refused() -> None:
    env = _write(homes().config / "env", f"AVIN_ACCEPT_RISK=true\nAVIN_TOKEN={SECRET}\n", 0o644)
    problems = check_config()
    assert [p.file for p in problems] == [str(env)]
    assert "AVIN_TOKEN" in problems[0].message and f"chmod 600 {env}" in problems[0].hint
    assert SECRET not in str(problems[0])
    env.write_text("AVIN_ACCEPT_RISK=true\n")  # no secret in it: its mode is its owner's choice
    assert check_config() == []


def test_the_config_home_token_file_and_our_token_file_must_be_private(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    home_file = _write(homes().config / "token", SECRET, 0o644)
    assert f"chmod 600 {home_file}" in _refusal()
    home_file.chmod(0o600)
    named = _write(tmp_path / "secret", SECRET, 0o644)
    monkeypatch.setenv("AVIN_TOKEN_FILE", str(named))
    text = _refusal()
    assert f"chmod 600 {named}" in text and SECRET not in text


def test_a_token_file_of_another_owner_is_not_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A Docker secret is root's, mode 0444, inside the container: avin cannot change it."""
    named = _write(tmp_path / "secret", SECRET, 0o444)
    monkeypatch.setenv("AVIN_TOKEN_FILE", str(named))
    monkeypatch.setattr(os, "getuid", lambda: os.stat(named).st_uid + 1)
    secret = load_settings().token
    assert secret is not None and secret.get_secret_value() == SECRET


def test_windows_modes_are_not_access_rules(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Python reports 0o666 for any writable file on Windows: no refusal, no walk there."""
    from engine.security.file_modes import exposure
    from engine.security.private import tighten

    path = _write(tmp_path / "open" / "avin.toml", f'token = "{SECRET}"\n', 0o644)
    (tmp_path / "open").chmod(0o755)
    assert exposure(path) is not None
    monkeypatch.setattr(os, "name", "nt")
    assert exposure(path) is None
    assert tighten(tmp_path / "open") is None


def test_the_kill_switch_and_status_work_whatever_the_token_files(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """Refusing the token must never block `avin kill` from another shell: only a warning."""
    from avin_tui.cli import main

    path = _write(homes().config_file, f'token = "{SECRET}"\n', 0o644)
    (homes().config / "token.keyring").write_text("a keyring that is not there")  # unreadable
    with caplog.at_level("WARNING", logger="avin.security"):
        assert main(["kill", "--reason", "test"]) == 0
    assert "the next run starts HALTED" in capsys.readouterr().out
    assert any(f"chmod 600 {path}" in r.getMessage() for r in caplog.records)
    assert main(["status", "--json"]) == 1  # read, not refused (2): nothing ever ran here
    assert '"ever_run": false' in capsys.readouterr().out
    assert main(["run", "--headless", "--duration", "1"]) == 2  # the robot itself does not start
    assert SECRET not in capsys.readouterr().err


def test_the_env_file_checked_is_the_one_the_systemd_unit_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """packaging/avin.service reads %h/.config/avin/env: the file avin checks without AVIN_HOME."""
    unit = Path(__file__).resolve().parents[2] / "packaging" / "avin.service"
    named = [
        line.split("=", 1)[1].lstrip("-")
        for line in unit.read_text().splitlines()
        if line.startswith("EnvironmentFile=")
    ]
    assert named == ["%h/.config/avin/env"]
    monkeypatch.delenv("AVIN_HOME")
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    if os.name == "posix" and sys.platform != "darwin":
        assert homes().config / "env" == Path(named[0].replace("%h", str(tmp_path)))
