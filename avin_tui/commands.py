"""``avin run``, ``avin status`` and ``avin config check``.

Imports of the engine, the UI and rich stay inside the command functions so that ``avin --help``
stays fast.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.config import Settings
    from engine.runtime.engine import Engine

EXIT_OK = 0
EXIT_NO_STATUS = 1
EXIT_CONFIG = 2
EXIT_UNAVAILABLE = 3

_STATUS_EPILOG = """\
exit codes: 0 when a status was found (running or not); 1 when no engine has ever run with this
AVIN_HOME. With --json the output is always ONE JSON object: when nothing ever ran it is
{"running": false, "ever_run": false, "message": ...} and the exit code is still 1.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from engine.risk.commands import add_kill_arguments, add_resume_arguments

    run = subparsers.add_parser(
        "run",
        help="start the robot (the terminal app, or --headless)",
        description="Start the trading engine: in the terminal app, or without UI (--headless). "
        "Without a token it trades the embedded simulated market.",
    )
    run.add_argument("--headless", action="store_true", help="no UI: log to the console and files")
    run.add_argument(
        "--duration", type=float, default=None, metavar="SECONDS", help="stop after this long"
    )
    run.add_argument("--speed", type=float, default=None, help="simulated seconds per second")
    run.add_argument("--seed", type=int, default=None, help="seed of the simulated market")
    run.add_argument("--config", type=Path, default=None, metavar="FILE", help="config file")
    run.add_argument(
        "--live",
        action="store_true",
        help='trade real money: needs mode = "live" in the config as well (docs/brokers.md)',
    )
    run.add_argument(
        "--accept-risk",
        action="store_true",
        help="accept the risk disclaimer (avin --help) for a run against a broker without a "
        "terminal; stored, asked once otherwise",
    )
    run.set_defaults(func=cmd_run)

    status = subparsers.add_parser(
        "status",
        help="state of the running (or last) robot",
        description="Print the state of the running or last robot, from the persisted status.",
        epilog=_STATUS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    status.add_argument("--json", action="store_true", help="one JSON object (for scripts)")
    status.set_defaults(func=cmd_status)

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
    resume.set_defaults(func=cmd_resume)

    config = subparsers.add_parser("config", help="configuration tools")
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION")
    check = config_sub.add_parser(
        "check",
        help="validate the configuration",
        description="Validate the config file and AVIN_* variables; exit 1 on any problem.",
    )
    check.add_argument("--config", type=Path, default=None, metavar="FILE", help="config file")
    check.set_defaults(func=cmd_config_check)

    def _config_help(args: argparse.Namespace) -> int:
        config.print_help()
        return 2

    config.set_defaults(func=_config_help)


def _user_errors(
    command: Callable[[argparse.Namespace], int],
) -> Callable[[argparse.Namespace], int]:
    """A bad config or an unusable state store is a message and exit 2, never a traceback."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        from engine.config import ConfigError
        from engine.state import StoreError

        try:
            return command(args)
        except ConfigError as exc:
            _print_problems(exc.problems)
            return EXIT_CONFIG
        except StoreError as exc:
            print(f"avin: the state store cannot be used: {exc}", file=sys.stderr)
            print("      -> check [state] in the config (`avin config check`)", file=sys.stderr)
            return EXIT_CONFIG

    return run


# --- run ----------------------------------------------------------------------------------------


@_user_errors
def cmd_run(args: argparse.Namespace) -> int:
    from engine.broker.base import BrokerError
    from engine.config import ConfigError, load_settings
    from engine.paths import homes
    from engine.runtime.factory import build_engine
    from engine.runtime.logbook import setup_logging
    from engine.runtime.redact import register_secret

    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        _print_problems(exc.problems)
        return EXIT_CONFIG
    if settings.token is not None:
        register_secret(settings.token.get_secret_value())
    logbook = setup_logging(homes().ensure().logs, settings.log.level)
    if args.speed is not None and args.speed <= 0:
        print("avin: --speed must be positive", file=sys.stderr)
        return EXIT_CONFIG
    if not _risk_accepted(settings, args):
        return EXIT_CONFIG
    try:
        engine = build_engine(
            settings, live=args.live, speed=args.speed, seed=args.seed, logbook=logbook
        )
    except BrokerError as exc:
        print(f"avin: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    try:
        if args.headless:
            return _run_headless(engine, args.duration)
        return _run_app(engine, settings, args.duration)
    finally:
        if engine.store is not None:
            engine.store.close()


def _risk_accepted(settings: Settings, args: argparse.Namespace) -> bool:
    """The risk disclaimer, accepted once before a run against a broker (engine/disclaimer.py)."""
    from engine.broker.tinvest.safety import LiveTradingRefused
    from engine.disclaimer import prompt_on_terminal, require_acceptance
    from engine.model import Mode
    from engine.paths import homes

    try:
        against_broker = settings.resolved_mode(args.live) is not Mode.SIM
    except (LiveTradingRefused, ValueError):  # build_engine reports it with its own message
        return True
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    outcome = require_acceptance(
        homes().config,
        against_broker=against_broker,
        flag=bool(getattr(args, "accept_risk", False)),
        config_key=settings.accept_risk,
        ask=prompt_on_terminal if interactive else None,
    )
    if not outcome.accepted:
        print(f"avin: {outcome.message}", file=sys.stderr)
    return outcome.accepted


def _run_headless(engine: Engine, duration: float | None) -> int:
    console = logging.StreamHandler(sys.stderr)
    from engine.runtime.logbook import LOG_FORMAT, UtcFormatter

    console.setFormatter(UtcFormatter(LOG_FORMAT))  # the stamps of avin.log (docs/logs.md)
    root = logging.getLogger("avin")
    root.addHandler(console)
    try:
        asyncio.run(_headless(engine, duration))
    except Exception as exc:  # e.g. another engine runs with the same state home
        logging.getLogger("avin.cli").error("the engine stopped on an error: %s", exc, exc_info=exc)
        print(f"avin: {exc}", file=sys.stderr)
        return 1
    finally:
        root.removeHandler(console)
    snap = engine.snapshot()
    counters = snap.counters
    print(
        f"avin: stopped; {counters.get('orders_sent', 0)} orders sent, "
        f"{counters.get('fills', 0)} fills, trading {snap.trading_state.value}"
    )
    return EXIT_OK


async def _headless(engine: Engine, duration: float | None) -> None:
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    stop_signals = [signal.SIGTERM, signal.SIGINT]
    # A hang-up (the SSH session closed) stops the robot cleanly too, like SIGTERM; a run under
    # `nohup` keeps its SIGHUP ignored. SIGHUP is POSIX only: looked up by name.
    hangup = getattr(signal, "SIGHUP", None)
    if hangup is not None and signal.getsignal(hangup) is not signal.SIG_IGN:
        stop_signals.append(hangup)
    for sig in stop_signals:
        try:
            loop.add_signal_handler(sig, engine.request_stop)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread / Windows
            pass
    try:
        await engine.run(duration)
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def _run_app(engine: Engine, settings: Settings, duration: float | None) -> int:
    try:
        from avin_tui.app import AvinApp  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:
        print(
            f"avin: the terminal app is not available ({exc}); use `avin run --headless`",
            file=sys.stderr,
        )
        return EXIT_UNAVAILABLE
    app = AvinApp(engine, settings)
    timer = None
    if duration is not None:
        import threading

        def _exit() -> None:
            with contextlib.suppress(Exception):  # the app may be gone already
                app.call_from_thread(app.exit)

        timer = threading.Timer(duration, _exit)
        timer.daemon = True
        timer.start()
    try:
        app.run()
    finally:
        if timer is not None:
            timer.cancel()
    return app_exit_code(app)


def app_exit_code(app: Any) -> int:
    """The app's own exit code: Textual sets 1 when the app crashed (it printed the traceback
    and returned from ``run``); a crash must never look like a clean quit to a script."""
    code = app.return_code
    if code:
        print(
            f"avin: the terminal app stopped on an error (exit {code}); the engine was stopped",
            file=sys.stderr,
        )
        return int(code)
    return EXIT_OK


# --- status -------------------------------------------------------------------------------------


def load_status() -> dict[str, Any] | None:
    """The persisted status (running from the live marker), or None when nothing ever ran."""
    from engine.config import load_settings
    from engine.paths import homes
    from engine.state import open_store

    settings = load_settings()
    if settings.state.engine == "diskcache" and not (homes().state / "status").exists():
        return None
    with open_store(settings) as store:
        return store.status()


@_user_errors
def cmd_status(args: argparse.Namespace) -> int:
    data = load_status()
    if data is None:
        message = "no avin engine has run yet with this home; start one with `avin run`"
        if args.json:
            print(json.dumps({"running": False, "ever_run": False, "message": message}))
        else:
            print(f"avin: {message}", file=sys.stderr)
        return EXIT_NO_STATUS
    data.setdefault("ever_run", True)
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        _print_status(data)
    return EXIT_OK


def _print_status(data: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    state = data.get("trading_state", "?")
    colour = {"ACTIVE": "green", "REDUCING": "yellow", "HALTED": "bold red"}.get(state, "white")
    running = "[green]running[/]" if data.get("running") else "[dim]not running[/]"
    if data.get("crashed"):
        running += " [red](the last run did not stop cleanly)[/]"
    console.print(
        f"avin [bold]{str(data.get('mode', '?')).upper()}[/]  {running}  pid {data.get('pid')}  "
        f"trading [{colour}]{state}[/]"
        + (f" ({data['halt_reason']})" if data.get("halt_reason") else "")
    )
    console.print(
        f"market {data.get('market_ts') or '-'}  last event {data.get('last_event_ts') or '-'}"
    )
    console.print(
        f"saved {data.get('saved_ts') or '-'}"
        + ("  [yellow]recovered after a crash[/]" if data.get("recovered") else "")
    )
    strategies = Table(title="Strategies", title_justify="left")
    for col in ("id", "state", "position", "pnl", "commission", "error"):
        strategies.add_column(col)
    for row in data.get("strategies", []):
        held = f" ({row['held_by']})" if row.get("held_by") else ""
        strategies.add_row(
            row["id"],
            row["state"] + held,
            str(row["position"]),
            str(row["pnl"]),
            str(row.get("commission", "")),
            row.get("error", ""),
        )
    console.print(strategies)
    positions = Table(title="Positions", title_justify="left")
    for col in ("account", "instrument", "lots", "avg price", "last", "pnl", "commission"):
        positions.add_column(col)
    for row in data.get("positions", []):
        positions.add_row(
            row["account"],
            row["instrument"],
            str(row["lots"]),
            str(row["avg_price"]),
            str(row["last_price"]),
            str(row.get("pnl", "")),  # net of commission, as the strategies' pnl
            str(row["commission"]),
        )
    console.print(positions)
    if "pnl" in data:
        console.print(f"P&L {data['pnl']} (net of {data.get('commission', '?')} commission)")
    open_orders = data.get("open_orders", [])
    console.print(f"open orders: {len(open_orders)}")
    for row in open_orders:
        console.print(
            f"  {row['key'][:8]} {row['instrument']} {row['side']} {row['lots']} "
            f"{row['type']} {row['price'] or ''} {row['status']}"
        )


# --- kill / resume ------------------------------------------------------------------------------


@_user_errors
def cmd_kill(args: argparse.Namespace) -> int:
    from engine.risk.commands import kill_command

    return kill_command(args)


@_user_errors
def cmd_resume(args: argparse.Namespace) -> int:
    from engine.risk.commands import resume_command

    return resume_command(args)


# --- config check -------------------------------------------------------------------------------


def cmd_config_check(args: argparse.Namespace) -> int:
    from engine.config import check_config, default_config_path

    path = args.config or default_config_path()
    problems = check_config(args.config)
    if not problems:
        problems = _strategy_problems(path)
    if problems:
        _print_problems(problems)
        return 1
    where = path if Path(path).exists() else f"{path} (absent: defaults and AVIN_* variables)"
    print(f"avin: the configuration is valid: {where}")
    return EXIT_OK


def _strategy_problems(path: Path) -> list[Any]:
    """The configured strategies that cannot be built (unknown name, bad parameters) and rows
    that repeat another one (the engine's own row checks, engine.runtime.worklist)."""
    from engine.config import ConfigProblem, load_settings
    from engine.runtime.slots import slot_ids
    from engine.runtime.worklist import duplicate_problems, spec_problems, worklist_from_rows

    problems: list[Any] = []
    settings = load_settings(path)
    specs = worklist_from_rows(settings.strategies) if settings.strategies else []
    ids = slot_ids(specs)
    sim_known = _sim_instruments(settings)
    for i, spec in enumerate(specs):
        if sim_known and spec.instrument.strip().upper() not in sim_known:
            problems.append(
                ConfigProblem(
                    str(path),
                    f"strategies.{i}.instrument",
                    f"{spec.instrument!r} is not traded on the simulated market",
                    "use one of " + ", ".join(sorted(k for k in sim_known if k.isalpha())),
                )
            )
        for message in spec_problems(spec):
            problems.append(
                ConfigProblem(
                    str(path),
                    f"strategies.{i}",
                    message,
                    "fix the strategy name or its params (see `avin config check` docs)",
                )
            )
        earlier = [(ids[j], specs[j], "") for j in range(i)]
        for message in duplicate_problems(spec, earlier)[0]:
            problems.append(
                ConfigProblem(str(path), f"strategies.{i}", message, "remove one of the rows")
            )
    return problems


def _sim_instruments(settings: Any) -> set[str]:
    """Tickers, codes, uids and figis of the simulated market when the config trades there
    (no token), else empty: a broker's instruments are checked when a row starts."""
    from engine.broker.sim import SIM_INSTRUMENTS
    from engine.model import Mode

    try:
        if settings.resolved_mode() is not Mode.SIM:
            return set()
    except Exception:
        return set()
    return {
        key.upper() for i in SIM_INSTRUMENTS for key in (i.ticker, i.code, i.uid, i.figi) if key
    }


def _print_problems(problems: list[Any]) -> None:
    print(f"avin: the configuration has {len(problems)} problem(s):", file=sys.stderr)
    for p in problems:
        print(f"  {p.file}: {p.key}: {p.message}", file=sys.stderr)
        if p.hint:
            print(f"      -> {p.hint}", file=sys.stderr)
