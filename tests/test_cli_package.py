"""The command line is one package: every subcommand registered from avin_tui/cli/, none of its
headless commands loads Textual, and ``python -m avin_tui.cli`` (how `avin supervise` restarts
the robot) runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from avin_tui import cli

ROOT = Path(__file__).resolve().parents[1]
HEADLESS = [
    ["--help"],
    ["status", "--help"],
    ["kill", "--help"],
    ["config", "check", "--help"],
    ["data", "list", "--help"],
    ["backtest", "--help"],
    ["broker", "check", "--help"],
    ["supervise", "--help"],
]


def test_every_command_module_lives_in_the_cli_package() -> None:
    assert all(name.startswith("avin_tui.cli.") for name in cli.COMMAND_MODULES)
    package = ROOT / "avin_tui" / "cli"
    for name in cli.COMMAND_MODULES:
        assert (package / f"{name.rsplit('.', 1)[1]}.py").is_file(), name
    assert not list((ROOT / "engine").rglob("commands.py")), "a command module left in engine/"


@pytest.mark.parametrize("argv", HEADLESS, ids=" ".join)
def test_a_headless_command_does_not_load_textual(argv: list[str]) -> None:
    probe = (
        "import sys\n"
        "from avin_tui.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('TEXTUAL' if 'textual' in sys.modules else 'NO-TEXTUAL')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.stdout.strip().splitlines()[-1] == "NO-TEXTUAL", done.stderr


def test_python_dash_m_runs_the_command_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "avin_tui.cli", "status", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "usage: avin status" in done.stdout
