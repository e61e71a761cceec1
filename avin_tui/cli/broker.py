"""``avin broker check`` and ``avin sim-server``.

``avin broker check`` connects with the configured token (read-only calls: GetAccounts, GetInfo,
Shares, GetLastPrices) and prints what it found or a clear error. ``avin sim-server`` runs the fake
T-Invest server on a loopback port so that avin (or ``broker check``) can be pointed at it with
``--target 127.0.0.1:PORT`` (or ``AVIN_TINVEST_TARGET``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from datetime import datetime
from typing import Any

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CONFIG = 2
TARGET_ENV = "AVIN_TINVEST_TARGET"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    broker = subparsers.add_parser("broker", help="T-Invest broker tools")
    sub = broker.add_subparsers(dest="broker_command", metavar="COMMAND")
    check = sub.add_parser(
        "check",
        help="connect with the configured token and list accounts (read-only)",
        description="Check the T-Invest connection: the token, accounts, instruments and limits. "
        'Only read-only calls are made. The sandbox is used unless mode = "live" is configured '
        "and --live is given.",
    )
    check.add_argument(
        "--target",
        default=None,
        metavar="HOST:PORT",
        help=f"the API host (default: the sandbox or production host; env {TARGET_ENV})",
    )
    check.add_argument("--live", action="store_true", help="allow the production host")
    check.add_argument("--config", default=None, metavar="FILE", help="config file")
    check.set_defaults(func=cmd_broker_check)

    def _help(args: argparse.Namespace) -> int:
        broker.print_help()
        return EXIT_CONFIG

    broker.set_defaults(func=_help)

    server = subparsers.add_parser(
        "sim-server",
        help="run a fake T-Invest server on loopback (for tests and demos)",
        description="Run a fake T-Invest gRPC server backed by the simulated market. Point avin "
        "at it with --target HOST:PORT (or AVIN_TINVEST_TARGET) and the printed token.",
    )
    server.add_argument("--host", default="127.0.0.1", help="a loopback address")
    server.add_argument("--port", type=int, default=0, help="0 picks a free port")
    server.add_argument("--token", default=None, help="the token clients must send")
    server.add_argument(
        "--faults",
        default="",
        metavar="SPEC",
        help="faults to inject, e.g. drop_streams=1,drop_after=20,reject_next=30078",
    )
    server.add_argument("--speed", type=float, default=60.0, help="simulated seconds per second")
    server.add_argument("--seed", type=int, default=42, help="seed of the simulated market")
    server.add_argument("--start", default=None, help="simulated start time (ISO, UTC)")
    server.add_argument("--duration", type=float, default=None, help="stop after SECONDS")
    server.add_argument(
        "--profile",
        choices=("real", "sandbox"),
        default="real",
        help="behave like the production service (default) or the sandbox (no stop orders: "
        "StopOrdersService answers UNIMPLEMENTED; SandboxService opens, lists, funds and closes "
        "accounts)",
    )
    server.add_argument(
        "--fill-later",
        action="store_true",
        help="answer PostOrder for a market order with NEW and fill it on the next price "
        "(default: FILL in the answer, as the real service does for most market orders)",
    )
    server.set_defaults(func=cmd_sim_server)


def _print(text: str) -> None:
    print(text, flush=True)


def cmd_broker_check(args: argparse.Namespace) -> int:
    from pathlib import Path

    from engine.broker.base import BrokerError
    from engine.broker.tinvest.channel import is_loopback
    from engine.broker.tinvest.safety import resolve_mode
    from engine.config import ConfigError, load_settings
    from engine.model import Mode
    from engine.model.redact import redact, register_secret

    try:
        settings = load_settings(Path(args.config) if args.config else None)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_CONFIG
    token = settings.token.get_secret_value() if settings.token is not None else ""
    register_secret(token)
    target = args.target or os.environ.get(TARGET_ENV) or None
    try:
        if target and is_loopback(target):
            mode = Mode.SANDBOX  # the fake server: nothing real is at stake
        else:
            mode = resolve_mode(settings.mode, has_token=bool(token), live_flag=args.live)
    except BrokerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if mode is Mode.SIM or not token:
        _print(
            "no T-Invest token configured: avin runs on the simulated market. "
            "Store one with `avin token set` (or set AVIN_TOKEN) to use the sandbox."
        )
        return EXIT_CONFIG
    try:
        return asyncio.run(_check(token, mode, target, settings.app_name))
    except BrokerError as exc:
        print(redact(f"error: {exc}"), file=sys.stderr)
        return EXIT_ERROR


async def _check(token: str, mode: Any, target: str | None, app_name: str) -> int:
    from engine.broker.tinvest.broker import TInvestBroker
    from engine.broker.tinvest.proto import investapi_pb2 as pb
    from engine.model.redact import redact, show_account

    broker = TInvestBroker(token, mode=mode, target=target, app_name=app_name)
    try:
        _print(f"connecting to {broker.config.target} ({mode.value})")
        accounts = await broker.accounts()
        info = await broker.transport.call("UsersService", "GetInfo", pb.GetInfoRequest())
        _print(f"token ok; tariff {info.tariff or '-'}")
        for acc in accounts:
            # masked with [privacy] hide_accounts (the name is the id when the account has none)
            shown, name = show_account(acc.id), redact(acc.name)
            _print(f"  account {shown}  {name}  cash {acc.cash} {acc.currency}")
        if not accounts:
            _print(
                "  no accounts (in the sandbox, avin opens one and pays in 1 000 000 RUB of "
                "play money on the first run)"
            )
        shares = await broker.instruments()
        _print(f"{len(shares)} shares available")
        sample = [i for i in shares if i.ticker in ("SBER", "GAZP")][:2]
        if sample:
            prices = await broker.last_prices(sample)
            for code, price in prices.items():
                _print(f"  {code} last price {price}")
        limits = broker.transport.last_limits
        if limits:
            _print(
                "rate limit: "
                + ", ".join(f"{k.removeprefix('x-ratelimit-')}={v}" for k, v in limits.items())
            )
        return EXIT_OK
    finally:
        await broker.close()


def cmd_sim_server(args: argparse.Namespace) -> int:
    from engine.broker.fake_tinvest import DEFAULT_TOKEN, FakeExchange, FakeTInvestServer, Faults

    try:
        faults = Faults.parse(args.faults)
        start = datetime.fromisoformat(args.start) if args.start else None
        exchange = FakeExchange(
            seed=args.seed,
            start=start,
            speed=args.speed,
            fill_market_on_post=not args.fill_later,
        )
        server = FakeTInvestServer(
            token=args.token or DEFAULT_TOKEN,
            host=args.host,
            port=args.port,
            exchange=exchange,
            faults=faults,
            profile=args.profile,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG

    async def serve() -> None:
        await server.start()
        server.run_market()
        _print(
            f"fake T-Invest server on {server.target} ({server.profile} profile, simulated "
            f"market, speed {args.speed})"
        )
        _print(f"token: {server.token}")
        _print(f"try:  AVIN_TOKEN={server.token} avin broker check --target {server.target}")
        _print("Ctrl+C stops it.")
        try:
            if args.duration is not None:
                await asyncio.sleep(args.duration)
            else:
                await asyncio.Event().wait()
        finally:
            await server.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    return EXIT_OK
