"""The command line is one package: every subcommand registered from avin_tui/cli/, none of its
headless commands loads Textual, and ``python -m avin_tui.cli`` (how `avin supervise` restarts
the robot) runs it."""

from __future__ import annotations

import argparse
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


@pytest.mark.parametrize("module", list(cli.COMMAND_MODULES))
def test_each_module_registers_the_commands_listed_for_it(module: str) -> None:
    import importlib

    subparsers = argparse.ArgumentParser().add_subparsers()
    importlib.import_module(module).register(subparsers)
    assert tuple(subparsers.choices) == cli.COMMAND_MODULES[module]


def _commands(parser: argparse.ArgumentParser) -> list[str]:
    [group] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return list(group.choices)


def test_a_command_builds_only_its_modules_parser_and_anything_else_builds_them_all() -> None:
    every = [name for names in cli.COMMAND_MODULES.values() for name in names]
    assert _commands(cli.build_parser()) == every
    assert _commands(cli.build_parser("backtest")) == ["backtest"]
    assert _commands(cli.build_parser("resume")) == ["kill", "resume"]
    for first in ("backtst", "--help", "-h", "--version"):
        assert _commands(cli.build_parser(first)) == every, first


def test_a_misspelled_command_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["backtst", "sma_cross"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'backtst'" in err and "'backtest'" in err and "'zigzag'" in err, err
