"""``avin kill [--flatten|--reduce]`` and ``avin resume [--yes]``: the out-of-band kill switch.

A running robot gets the command through its control socket (``engine.control``) and answers
with its trading state at once. Without one they work through the status store: the latched
trading state is written at once (so the next run starts in it even if no engine is running),
and a running engine that serves no socket obeys the command within about a second (it polls
the store); the command waits for the engine's snapshot to confirm.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from avin_tui.cli.control import add_endpoint_arguments
from avin_tui.cli.errors import user_errors
from engine.model.snapshot import TradingState

EXIT_OK = 0
EXIT_FAILED = 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    kill = subparsers.add_parser(
        "kill",
        help="halt trading now (out of band: works when the UI is frozen)",
        description="Kill switch from the command line: the running engine goes HALTED, pauses its "
        "strategies and cancels every open order (within about a second). HALTED is latched: "
        "it survives restarts until `avin resume`. With no engine running, the next run starts "
        "HALTED. Exit 1 if a running engine did not confirm in time.",
    )
    kill.add_argument("--reason", default="avin kill", help="recorded with the halt")
    kill.add_argument("--wait", type=float, default=5.0, metavar="SECONDS", help="confirm timeout")
    add_kill_arguments(kill)
    add_endpoint_arguments(kill)
    kill.set_defaults(func=cmd_kill)
    resume = subparsers.add_parser(
        "resume",
        help="leave HALTED: trading ACTIVE, held strategies running (paused by hand stay paused)",
        description="Deliberately reset the latched kill switch (running engine or the next run).",
    )
    resume.add_argument("--reason", default="avin resume", help="recorded in the log")
    resume.add_argument(
        "--wait", type=float, default=5.0, metavar="SECONDS", help="confirm timeout"
    )
    add_resume_arguments(resume)
    add_endpoint_arguments(resume)
    resume.set_defaults(func=cmd_resume)


def add_kill_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--flatten",
        action="store_true",
        help="cancel every order, then close every position at market (trading REDUCING after)",
    )
    group.add_argument(
        "--reduce",
        action="store_true",
        help="REDUCING instead of HALTED: only orders that reduce a position are sent",
    )


def add_resume_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-y", "--yes", action="store_true", help="do not ask for confirmation (scripts)"
    )


def kill_command(args: argparse.Namespace) -> int:
    name = "kill"
    if getattr(args, "flatten", False):
        name = "flatten"
    elif getattr(args, "reduce", False):
        name = "reduce"
    if getattr(args, "endpoint", None):
        return remote_command(args, name)
    return run_command(name, args.reason, args.wait)


def resume_command(
    args: argparse.Namespace, ask: Callable[[str], str] = input, interactive: bool | None = None
) -> int:
    if not getattr(args, "yes", False):
        tty = sys.stdin.isatty() if interactive is None else interactive
        if not tty:
            print(
                "avin: resume needs confirmation: run it in a terminal or add --yes",
                file=sys.stderr,
            )
            return EXIT_FAILED
        try:
            answer = ask("Resume trading (trading state ACTIVE, strategies running)? [yes/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print("avin: not resumed")
            return EXIT_FAILED
    if getattr(args, "endpoint", None):
        return remote_command(args, "resume")
    return run_command("resume", args.reason, args.wait)


def remote_command(args: argparse.Namespace, name: str) -> int:
    """The command to the robot at ``--endpoint`` (its TCP endpoint; no store to fall back on)."""
    from avin_tui.cli.control import RemoteError, remote, remote_problem
    from engine.control.client import ControlError

    target = _TARGET[name]
    try:
        with remote(args, timeout=args.wait) as client:
            reply = client.command(name, args.reason)
    except RemoteError as exc:
        print(f"avin: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except ControlError as exc:
        print(f"avin: {name}: {remote_problem(args.endpoint, exc)}", file=sys.stderr)
        return EXIT_FAILED
    if reply.trading_state != target.value:
        print(
            f"avin: the engine (pid {reply.pid}) at {args.endpoint} is {reply.trading_state}, "
            f"not {target.value}" + (f" ({reply.halt_reason})" if reply.halt_reason else ""),
            file=sys.stderr,
        )
        return EXIT_FAILED
    print(f"avin: the engine (pid {reply.pid}) at {args.endpoint} is {reply.trading_state}")
    return EXIT_OK


_TARGET = {
    "kill": TradingState.HALTED,
    "flatten": TradingState.REDUCING,
    "reduce": TradingState.REDUCING,
    "resume": TradingState.ACTIVE,
}


def run_command(name: str, reason: str, wait: float) -> int:
    from engine.state import open_configured_store

    target = _TARGET[name]
    answered = _through_control(name, reason, target, wait)
    if answered is not None:
        return answered
    with open_configured_store() as store:
        marker = store.marker()
        running = marker is not None and marker.is_alive()
        current, _ = store.trading_state()
        if name in ("kill", "reduce") or (name == "flatten" and current is not TradingState.HALTED):
            store.save_trading_state(target, reason)  # latched at once, whatever the engine does
        if not running:
            if name == "resume":
                from engine.runtime.keeper import REARM
                from engine.state.base import BaseStore

                store.save_trading_state(TradingState.ACTIVE, "")
                if isinstance(store, BaseStore):  # the next run re-arms the triggers
                    store.put(REARM, {"ts": time.time()})
            extra = (
                "; flatten needs a running engine: positions were not closed"
                if name == "flatten"
                else ""
            )
            print(f"avin: no engine is running; the next run starts {target.value}{extra}")
            return EXIT_OK
        assert marker is not None
        store.request_command(name, reason)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            snap = store.load_snapshot() or {}
            if snap.get("trading_state") == target.value:
                print(f"avin: the engine (pid {marker.pid}) is {target.value}")
                return EXIT_OK
            time.sleep(0.1)
    print(
        f"avin: the engine (pid {marker.pid}) did not confirm {target.value} within {wait:g} s",
        file=sys.stderr,
    )
    return EXIT_FAILED


def _through_control(name: str, reason: str, target: TradingState, wait: float) -> int | None:
    """The command through the running robot's control socket (answered in milliseconds); None
    when no robot serves it (the status store then)."""
    from avin_tui.cli.control import robot

    with robot(timeout=wait) as client:
        if client is None:
            return None
        from engine.control.client import ControlError

        try:
            reply = client.command(name, reason)
        except ControlError as exc:
            if exc.code.name in ("UNAVAILABLE", "DEADLINE_EXCEEDED"):
                return None  # it went away meanwhile: the store path
            print(f"avin: the engine refused {name}: {exc}", file=sys.stderr)
            return EXIT_FAILED
    if reply.trading_state != target.value:
        print(
            f"avin: the engine (pid {reply.pid}) is {reply.trading_state}, not {target.value}"
            + (f" ({reply.halt_reason})" if reply.halt_reason else ""),
            file=sys.stderr,
        )
        return EXIT_FAILED
    print(f"avin: the engine (pid {reply.pid}) is {reply.trading_state}", flush=True)
    if name in ("kill", "reduce"):  # the latch on disk too, as the store path writes it (the
        # robot saves it itself within a moment; this covers a robot killed in that moment)
        from engine.state import open_configured_store

        with open_configured_store() as store:
            store.save_trading_state(target, reply.halt_reason or reason)
    return EXIT_OK


@user_errors
def cmd_kill(args: argparse.Namespace) -> int:
    return kill_command(args)


@user_errors
def cmd_resume(args: argparse.Namespace) -> int:
    return resume_command(args)
