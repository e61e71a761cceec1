"""``avin run``: the robot in the terminal app or headless.

Imports of the engine, the UI and rich stay inside the command functions so that ``avin --help``
stays fast.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from avin_tui.cli.errors import EXIT_CONFIG, EXIT_OK, EXIT_UNAVAILABLE, print_problems, user_errors
from engine.broker.tinvest.safety import mode_for

if TYPE_CHECKING:
    from engine.config import Settings
    from engine.runtime.engine import Engine

__all__ = ["EXIT_CONFIG", "EXIT_OK", "EXIT_UNAVAILABLE", "app_exit_code", "cmd_run", "register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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


@user_errors
def cmd_run(args: argparse.Namespace) -> int:
    from engine.broker.base import BrokerError
    from engine.config import ConfigError, load_settings
    from engine.model.redact import register_secret
    from engine.paths import homes
    from engine.runtime.launch import build_engine
    from engine.runtime.logbook import setup_logging

    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print_problems(exc.problems)
        return EXIT_CONFIG
    if settings.token is not None:
        register_secret(settings.token.get_secret_value())
    if not args.headless:  # a robot already runs on this home: offer its app instead
        from avin_tui.cli.attach import offer_attach

        offered = offer_attach(settings)
        if offered is not None:
            return offered
    logbook = setup_logging(homes().ensure().logs, settings.log.level)
    _log_tightened()
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


def _log_tightened() -> None:
    """The homes made private at the start of this process (said on the console then, before the
    log file was open), in the log file too."""
    import logging

    from engine.security.private import take_pending

    for note in take_pending():
        logging.getLogger("avin.security").warning("%s", note)


def _risk_accepted(settings: Settings, args: argparse.Namespace) -> bool:
    """The risk disclaimer, accepted once before a run against a broker (engine/disclaimer.py)."""
    from engine.broker.tinvest.safety import LiveTradingRefused
    from engine.disclaimer import prompt_on_terminal, require_acceptance
    from engine.model import Mode
    from engine.paths import homes

    try:
        against_broker = mode_for(settings, args.live) is not Mode.SIM
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
    from engine.runtime.logbook import LOG_FORMAT, RedactingFormatter

    # the stamps of avin.log (docs/logs.md), secrets masked as there (stderr may be a journal)
    console.setFormatter(RedactingFormatter(LOG_FORMAT))
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
    from engine.control.server import engine_status, serve_control

    try:
        with serve_control(engine, status=engine_status(engine)):  # avin status/kill/resume
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
