"""``[privacy] hide_accounts``: account ids shown as ``…1234`` wherever text is redacted (log
lines, incidents, the console, the panes, ``avin status``), two accounts with the same last digits
still told apart; off by default, so nothing changes for who does not ask."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.model import redact as registry
from engine.model.redact import hide_accounts, redact, register_account, show_account

A = "2000123456"
B = "2000991456"  # the same last three digits as A
C = "2000777456"


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    saved = set(registry._accounts)
    yield
    hide_accounts(False)
    registry._accounts.clear()
    registry._accounts.update(saved)
    registry._account_pattern = None


def test_off_by_default_ids_are_shown_as_they_are() -> None:
    register_account(A)
    assert show_account(A) == A
    assert redact(f"bought on account {A}") == f"bought on account {A}"


def test_an_id_is_masked_to_its_last_four_characters() -> None:
    register_account(A)
    hide_accounts(True)
    assert show_account(A) == "…3456"
    assert redact(f"bought on account {A} (again {A})") == "bought on account …3456 (again …3456)"


def test_accounts_with_the_same_last_digits_keep_more_of_the_end() -> None:
    for account in (A, B, C):
        register_account(account)
    hide_accounts(True)
    shown = [show_account(a) for a in (A, B, C)]
    assert shown == ["…3456", "…1456", "…7456"]
    register_account("2000003456")  # now A's last four are shared too
    assert show_account(A) == "…23456"
    assert show_account("2000003456") == "…03456"
    assert len({show_account(a) for a in registry._accounts}) == len(registry._accounts)


def test_a_mask_is_not_masked_again_when_one_id_ends_another() -> None:
    register_account("991234567")
    register_account("1234567")
    hide_accounts(True)
    text = redact("991234567 and 1234567")
    assert text == "…91234567 and …1234567", text
    assert "991234567" not in text


def test_short_local_names_are_not_hidden() -> None:
    register_account("sim-1")
    hide_accounts(True)
    assert show_account("sim-1") == "sim-1"
    assert redact("account sim-1") == "account sim-1"


def test_the_setting_from_the_file_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.config import load_settings

    monkeypatch.setenv("AVIN_HOME", str(tmp_path))
    config = tmp_path / "avin.toml"
    config.write_text(
        '[privacy]\nhide_accounts = true\n[[accounts]]\nid = "2000123456"\nbroker = "tinvest"\n'
    )
    settings = load_settings(config, token_needed=False)
    assert settings.privacy.hide_accounts is True
    assert redact("on 2000123456") == "on …3456"  # the config's account is known at once
    config.write_text("")
    monkeypatch.setenv("AVIN_PRIVACY__HIDE_ACCOUNTS", "1")
    assert load_settings(config, token_needed=False).privacy.hide_accounts is True
    monkeypatch.setenv("AVIN_PRIVACY__HIDE_ACCOUNTS", "0")
    load_settings(config, token_needed=False)
    assert redact("on 2000123456") == "on 2000123456"


def test_log_lines_and_incidents_show_the_mask() -> None:
    from engine.runtime.logbook import LOG_FORMAT, RedactingFormatter

    register_account(A)
    hide_accounts(True)
    record = logging.LogRecord("avin.x", logging.INFO, __file__, 1, "order on %s", (A,), None)
    assert RedactingFormatter(LOG_FORMAT).format(record).endswith("order on …3456")


def test_avin_status_masks_the_text_and_the_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The stored status keeps the real id; what ``avin status`` prints does not."""
    import argparse

    from avin_tui.cli import status

    monkeypatch.setenv("AVIN_HOME", str(tmp_path))
    monkeypatch.setenv("AVIN_PRIVACY__HIDE_ACCOUNTS", "true")
    stored = {
        "mode": "sandbox",
        "trading_state": "HALTED",
        "halt_reason": f"loss on {A}",
        "strategies": [
            {"id": "s", "state": "failed", "position": 1, "pnl": "0", "error": f"at {A}"}
        ],
        "positions": [
            {
                "account": A,
                "instrument": "SBER",
                "lots": 1,
                "avg_price": "1",
                "last_price": "1",
                "commission": "0",
            }
        ],
        "open_orders": [],
    }
    monkeypatch.setattr(status, "load_status", lambda: json.loads(json.dumps(stored)))
    for as_json in (True, False):
        assert status.cmd_status(argparse.Namespace(json=as_json)) == 0
        out = capsys.readouterr().out
        assert A not in out and "…3456" in out, out
    assert stored["positions"][0]["account"] == A  # type: ignore[index]
