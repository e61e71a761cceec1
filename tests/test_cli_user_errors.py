"""``user_errors``: a bad config or an unusable state store is a message and exit 2, anything else
is raised as it was; the question does not import the state store's modules (a command that
never opens the store does not pay for them)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from avin_tui.cli.errors import EXIT_CONFIG, user_errors
from engine.config import ConfigError, ConfigProblem
from engine.state import StoreError

ROOT = Path(__file__).resolve().parents[1]


def raising(exc: BaseException) -> argparse.Namespace:
    @user_errors
    def command(args: argparse.Namespace) -> int:
        raise exc

    return command  # type: ignore[return-value]


def test_a_bad_config_is_told_with_its_file_and_key(capsys: pytest.CaptureFixture[str]) -> None:
    problem = ConfigProblem("avin.toml", "risk.max_order_lots", "must be positive", "set 1 or more")
    assert raising(ConfigError([problem]))(argparse.Namespace()) == EXIT_CONFIG  # type: ignore[operator]
    err = capsys.readouterr().err
    assert "1 problem(s)" in err and "avin.toml: risk.max_order_lots: must be positive" in err
    assert "-> set 1 or more" in err


def test_an_unusable_store_is_told(capsys: pytest.CaptureFixture[str]) -> None:
    assert raising(StoreError("locked by pid 7"))(argparse.Namespace()) == EXIT_CONFIG  # type: ignore[operator]
    err = capsys.readouterr().err
    assert "the state store cannot be used: locked by pid 7" in err and "[state]" in err


def test_anything_else_is_raised_as_it_was() -> None:
    with pytest.raises(ZeroDivisionError):
        raising(ZeroDivisionError("x"))(argparse.Namespace())  # type: ignore[operator]
    with pytest.raises(KeyboardInterrupt):
        raising(KeyboardInterrupt())(argparse.Namespace())  # type: ignore[operator]


def test_the_question_imports_no_store_module() -> None:
    probe = (
        "import argparse, sys\n"
        "from avin_tui.cli.errors import user_errors\n"
        "def boom(args):\n"
        "    raise ValueError('x')\n"
        "try:\n"
        "    user_errors(boom)(argparse.Namespace())\n"
        "except ValueError:\n"
        "    pass\n"
        "print(sorted(m for m in ('engine.state', 'engine.config') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.stdout.strip() == "[]", done.stderr
