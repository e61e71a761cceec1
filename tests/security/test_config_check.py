"""``avin config check`` says where the token comes from (never the token), refuses a secret
others can read with its fix, and warns about a token file of another owner open to others."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from avin_tui.cli import main
from engine.paths import homes

SECRET = "t.Secret-0123456789abcdefABCDEF"


def _check(capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["config", "check"])
    out = capsys.readouterr()
    assert SECRET not in out.out + out.err
    return code, out.out + out.err


def _config(text: str, mode: int) -> Path:
    path = homes().config_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def test_no_token_is_said_with_how_to_store_one(capsys: pytest.CaptureFixture[str]) -> None:
    code, text = _check(capsys)
    assert code == 0 and "token: none" in text and "avin token set" in text


@pytest.mark.parametrize("mode", ["sandbox", "live"])
def test_no_token_with_a_broker_mode_is_a_warning_that_the_run_will_refuse(
    capsys: pytest.CaptureFixture[str], mode: str
) -> None:
    _config(f'mode = "{mode}"\n', 0o600)
    code, text = _check(capsys)
    assert code == 0
    assert f'warning: token: none, and mode = "{mode}" needs one' in text, text
    assert "simulated market" not in text


def test_a_token_in_the_config_is_named_with_a_note_and_refused_when_open(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = _config(f'token = "{SECRET}"\n', 0o600)
    code, text = _check(capsys)
    assert code == 0 and f"token: from the config file ({path})" in text
    assert "`avin token set` keeps it apart" in text
    path.chmod(0o640)
    code, text = _check(capsys)
    assert code == 1 and f"chmod 600 {path}" in text and "open to group (mode 0640)" in text


def test_a_token_file_of_another_owner_open_to_others_is_a_warning(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "avin_token"
    secret.write_text(SECRET)
    secret.chmod(0o444)
    monkeypatch.setenv("AVIN_TOKEN_FILE", str(secret))
    monkeypatch.setattr(os, "getuid", lambda: secret.stat().st_uid + 1)
    code, text = _check(capsys)
    assert code == 0
    assert f"token: from the token file (AVIN_TOKEN_FILE={secret})" in text
    assert "open to group and others (mode 0444) and belongs to another user" in text
