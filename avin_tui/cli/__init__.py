"""The ``avin`` command line: every subcommand lives in this package, one module per group.

Each module listed in ``COMMAND_MODULES`` exposes
``register(subparsers)``, which adds its parsers and sets ``func`` (taking the parsed namespace and
returning an exit code). Imports stay lazy so that ``avin --version`` and the TUI start fast.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Sequence

from engine import __version__
from engine.disclaimer import DISCLAIMER
from engine.paths import homes
from engine.security.private import private_process

EXIT_BROKEN_PIPE = 141  # as a shell reports a command ended by SIGPIPE
EXIT_CRASH = 70  # EX_SOFTWARE: an internal error, never mistaken for a usage error (2)

# each command module and the commands its ``register`` adds, in the order ``avin --help`` lists
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "avin_tui.cli.run": ("run",),
    "avin_tui.cli.attach": ("attach",),
    "avin_tui.cli.status": ("status",),
    "avin_tui.cli.kill": ("kill", "resume"),
    "avin_tui.cli.config": ("config",),
    "avin_tui.cli.data": ("data",),
    "avin_tui.cli.analysis": ("zigzag", "scan"),
    "avin_tui.cli.backtest": ("backtest",),
    "avin_tui.cli.broker": ("broker", "sim-server"),
    "avin_tui.cli.token": ("token",),
    "avin_tui.cli.supervise": ("supervise",),
    "avin_tui.cli.web": ("web",),
}


class _VersionAction(argparse.Action):
    """``--version``: the version, commit and build date (git is asked only when it is given)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(
            option_strings, dest, nargs=0, help="show the version, commit and build date"
        )

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from avin_tui.build_info import version_line

        print(version_line())
        parser.exit()


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with ``command`` (the first word of the command line) only the module
    that registers it, when one does: the others' imports (asyncio, the broker, ...) are not
    paid for by, say, ``avin backtest``. Anything else (a misspelled command) gets them all."""
    parser = argparse.ArgumentParser(
        prog="avin",
        description="avin: a trading robot for MOEX shares with a terminal UI. "
        "Without a subcommand it opens the terminal app.",
        epilog=f"DISCLAIMER: {DISCLAIMER}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_VersionAction, version=f"avin {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = [name for name, commands in COMMAND_MODULES.items() if command in commands]
    for name in modules or COMMAND_MODULES:
        module = importlib.import_module(name)
        module.register(subparsers)
    return parser


def _safe_console() -> None:
    """Text the console cannot encode (a Windows code page, a non-UTF-8 locale) is replaced, never
    an exception."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if encoding != "utf8" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")


def _drop_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush finds no broken pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)


def _compiled_core() -> None:
    """A backtest loads the compiled core when it is built (engine/native.py); a build that
    is there but cannot be used (a source changed since, another Python) is said once."""
    from engine import native

    why = native.enable()
    if why is not None and native.BUILD.exists() and os.environ.get(native.ENV) != "0":
        print(f"avin backtest: the compiled core is not used: {why}", file=sys.stderr)


def _read_ahead(args_list: list[str]) -> None:
    """A backtest's ``--data`` file starts reading first, beside every import that follows."""
    from engine.data import read_ahead

    path = read_ahead.data_option(args_list)
    if path is not None:
        read_ahead.start(path)


def main(argv: Sequence[str] | None = None) -> int:
    _safe_console()
    args_list = list(sys.argv[1:] if argv is None else argv)
    options_only = bool(args_list) and args_list[0].startswith("-")
    if not args_list or (options_only and args_list[0] not in ("-h", "--help", "--version")):
        args_list = ["run", *args_list]
    collect = gc.isenabled()
    try:
        if args_list[0] == "backtest":
            _read_ahead(args_list)
            _compiled_core()  # before the parser imports the modules it replaces
            # its imports and its run make many objects and no cycles (a sweep, long, turns the
            # collector on again: avin_tui/cli/backtest.py)
            gc.disable()
        return _dispatch(build_parser(args_list[0]), args_list)
    finally:  # the collector as the caller had it, when avin runs in its process (tests)
        if collect:
            gc.enable()
        if argv is None:  # the process ends here: its objects need no last collection
            gc.freeze()  # (a backtest's run leaves hundreds of thousands; about 0.1 s each 1M bars)


def _dispatch(parser: argparse.ArgumentParser, args_list: list[str]) -> int:
    args = parser.parse_args(args_list)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    # everything this run creates is private to the user, whatever the login's umask; the homes
    # avin writes that an older version left open are tightened (engine/security/private.py)
    previous_umask = private_process(homes().written)
    try:
        code = int(func(args) or 0)
        sys.stdout.flush()  # a reader gone meanwhile is found here, not at the exit
        return code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`avin status --json | head`): quiet
        _drop_stdout()
        return EXIT_BROKEN_PIPE
    except Exception:  # a crash is never a clean exit: traceback, a plain line, non-zero
        from avin_tui.crash_report import crash_text

        print(crash_text(sys.exc_info()), end="", file=sys.stderr)  # secrets masked
        print(f"avin {args.command or 'run'}: crashed (see the traceback above)", file=sys.stderr)
        return EXIT_CRASH
    finally:
        os.umask(previous_umask)  # the caller's own, when avin runs in its process (tests)
