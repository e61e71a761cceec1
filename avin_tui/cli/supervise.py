"""``avin supervise -- ARGS``: run ``avin ARGS`` and restart it after a crash (see supervisor)."""

from __future__ import annotations

import argparse
import signal
import sys


def avin_command() -> list[str]:
    """How to start avin again: the binary itself when frozen (PyInstaller), else this Python."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "avin_tui.cli"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sup = subparsers.add_parser(
        "supervise",
        help="run the robot and restart it after a crash",
        description="Run `avin ARGS` (default: run --headless); restart it after a crash with "
        "backoff; stop after a crash loop (MAX crashes within WINDOW seconds) with an incident. "
        "A clean exit (0), a configuration error (2) or an unavailable broker (3) ends it.",
    )
    sup.add_argument("--max-crashes", type=int, default=5, metavar="N")
    sup.add_argument("--window", type=float, default=300.0, metavar="SECONDS")
    sup.add_argument("--backoff", type=float, default=1.0, metavar="SECONDS")
    sup.add_argument("--max-backoff", type=float, default=60.0, metavar="SECONDS")
    sup.add_argument("args", nargs=argparse.REMAINDER, help="-- then the avin arguments")
    sup.set_defaults(func=cmd_supervise)


def cmd_supervise(args: argparse.Namespace) -> int:
    from engine.paths import homes
    from engine.runtime.logbook import setup_logging
    from engine.runtime.supervisor import Supervisor, SupervisorPolicy

    rest = list(args.args)
    if rest and rest[0] == "--":
        rest = rest[1:]
    if rest and rest[0] == "avin":
        rest = rest[1:]
    if not rest:
        rest = ["run", "--headless"]
    if rest[0] == "supervise":
        print("avin: supervise cannot supervise itself", file=sys.stderr)
        return 2
    if args.max_crashes < 1 or args.window <= 0 or args.backoff < 0:
        print("avin: --max-crashes >= 1, --window > 0, --backoff >= 0", file=sys.stderr)
        return 2
    setup_logging(homes().ensure().logs)
    import logging

    from engine.runtime.logbook import RedactingFormatter

    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(RedactingFormatter())  # the bare message, secrets masked as in avin.log
    logging.getLogger("avin").addHandler(console)
    policy = SupervisorPolicy(args.max_crashes, args.window, args.backoff, args.max_backoff)
    sup = Supervisor([*avin_command(), *rest], policy)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, sup.stop)
    try:
        return sup.run()
    finally:
        logging.getLogger("avin").removeHandler(console)
