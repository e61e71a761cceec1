"""``avin token set``, ``avin token check`` and ``avin token clear``.

``set`` reads the token from standard input (a prompt that does not echo on a terminal), never
from the command line where ``ps`` and the shell history would show it, and keeps it in the OS
keyring or a 0600 file in the config home. ``check`` asks the broker whether the token in force is
valid without printing it. engine/security/token_source.py says where a token is looked for.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from avin_tui.cli.errors import EXIT_CONFIG, EXIT_OK, EXIT_UNAVAILABLE, user_errors

EXIT_REFUSED = 1  # the broker refused the token
UNREACHED = frozenset({"UNAVAILABLE", "DEADLINE_EXCEEDED"})  # gRPC codes: no answer on the token
TARGET_HELP = "the API host (default: the sandbox or production host; env AVIN_TINVEST_TARGET)"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    token = subparsers.add_parser(
        "token",
        help="store the T-Invest token safely, or check it",
        description="Where avin finds the token, first found wins: AVIN_TOKEN, the file named by "
        "AVIN_TOKEN_FILE, the OS keyring (where `avin token set` put it; needs avin[keyring]), the "
        "config home's `token` file, "
        "`token` in avin.toml (docs/security.md).",
    )
    sub = token.add_subparsers(dest="token_command", metavar="ACTION")
    store = sub.add_parser(
        "set",
        help="store the token (read from standard input, never from the command line)",
        description="Read the token from standard input (a hidden prompt on a terminal; or "
        "`avin token set < FILE`) and keep it in the OS keyring, or where there is none in a "
        "file only you can read (0600) in the config home.",
    )
    store.add_argument(
        "--file", action="store_true", help="a 0600 file in the config home even with a keyring"
    )
    store.set_defaults(func=cmd_token_set)
    check = sub.add_parser(
        "check",
        help="ask the broker whether the token in force is valid (it is never printed)",
        description="One read-only call (UsersService.GetInfo) with the token in force: its "
        "source and the answer, or the broker's error with its code and tracking id.",
    )
    check.add_argument("--target", default=None, metavar="HOST:PORT", help=TARGET_HELP)
    check.add_argument("--live", action="store_true", help="check against the production host")
    check.add_argument("--config", default=None, metavar="FILE", help="config file")
    check.set_defaults(func=cmd_token_check)
    clear = sub.add_parser(
        "clear",
        help="forget the stored token (keyring entry and config-home file)",
        description="Remove what `avin token set` stored. AVIN_TOKEN, AVIN_TOKEN_FILE and "
        "avin.toml are yours to change.",
    )
    clear.set_defaults(func=cmd_token_clear)

    def _help(args: argparse.Namespace) -> int:
        token.print_help()
        return EXIT_CONFIG

    token.set_defaults(func=_help)


def _read_token() -> str:
    if sys.stdin is not None and sys.stdin.isatty():
        import getpass

        return getpass.getpass("T-Invest token (not shown): ")
    return sys.stdin.read() if sys.stdin is not None else ""


def cmd_token_set(args: argparse.Namespace) -> int:
    from engine.paths import homes
    from engine.security.token_source import TokenSourceError, store_token

    try:
        token = _read_token()
        origin = store_token(token, homes().config, use_keyring=not args.file)
    except ValueError as exc:
        print(f"avin token set: {exc}; nothing was stored", file=sys.stderr)
        return EXIT_CONFIG
    except TokenSourceError as exc:
        print(f"avin token set: {exc}. {exc.hint}", file=sys.stderr)
        return EXIT_CONFIG
    except OSError as exc:
        print(f"avin token set: cannot write the token file: {exc.strerror}", file=sys.stderr)
        return EXIT_CONFIG
    print(f"avin: the token is stored in the {origin}")
    if not token.strip().startswith("t."):
        print(
            "avin: note: T-Invest tokens start with 't.'; this one does not (was something "
            "else pasted?)",
            file=sys.stderr,
        )
    shadows = _shadowing_sources()
    if shadows:
        print(
            f"avin: note: {' and '.join(shadows)} come(s) first and will be used instead; "
            "unset it to use the stored token",
            file=sys.stderr,
        )
    print("avin: check it with `avin token check`")
    return EXIT_OK


def _shadowing_sources() -> list[str]:
    import os

    from engine.security.token_source import TOKEN_ENV, TOKEN_FILE_ENV, env_token_set

    found = []
    if env_token_set():
        found.append(TOKEN_ENV)
    if os.environ.get(TOKEN_FILE_ENV, "").strip():
        found.append(TOKEN_FILE_ENV)
    return found


def cmd_token_clear(args: argparse.Namespace) -> int:
    from engine.paths import homes
    from engine.security.token_source import clear_token

    removed = clear_token(homes().config)
    if removed:
        print(f"avin: removed {' and '.join(removed)}")
    else:
        print("avin: no token was stored by `avin token set`")
    return EXIT_OK


@user_errors
def cmd_token_check(args: argparse.Namespace) -> int:
    import asyncio
    from pathlib import Path

    from engine.broker.base import BrokerError
    from engine.broker.tinvest.channel import is_loopback
    from engine.broker.tinvest.safety import resolve_mode
    from engine.config import load_settings
    from engine.model import Mode
    from engine.model.redact import redact, register_secret
    from engine.paths import homes
    from engine.security.file_modes import secret_keys
    from engine.security.token_source import token_origin

    config = Path(args.config) if args.config else homes().config_file
    settings = load_settings(config)  # refuses a token file others can read
    if settings.token is None or not settings.token.get_secret_value().strip():
        print(
            "avin token check: no token: store one with `avin token set` (or set AVIN_TOKEN); "
            "without one avin trades the simulated market",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    token = settings.token.get_secret_value().strip()
    register_secret(token)
    origin = token_origin(homes().config, config, "token" in _config_keys(config, secret_keys))
    target = args.target or settings.tinvest_target or None
    try:
        if target and is_loopback(target):
            mode = Mode.SANDBOX  # a local fake server: nothing real is at stake
        else:
            mode = resolve_mode(settings.mode, has_token=True, live_flag=args.live)
    except BrokerError as exc:
        hint = ""
        if settings.mode == "live" and not args.live:
            hint = " (for this check: add --live to ask the production host, read-only)"
        print(redact(f"avin token check: {exc.message}{hint}"), file=sys.stderr)
        return EXIT_CONFIG
    print(f"avin: the token from the {origin}")
    try:
        return asyncio.run(_check(token, mode, target, settings.app_name))
    except BrokerError as exc:
        if exc.retryable or exc.code in UNREACHED:  # the broker never judged the token
            print(redact(f"avin token check: could not check the token: {exc}"), file=sys.stderr)
            return EXIT_UNAVAILABLE
        print(redact(f"avin token check: the token was not accepted: {exc}"), file=sys.stderr)
        return EXIT_REFUSED


def _config_keys(config: Any, secret_keys: Any) -> list[str]:
    import tomllib

    try:
        with open(config, "rb") as handle:
            return list(secret_keys(tomllib.load(handle)))
    except (OSError, tomllib.TOMLDecodeError):
        return []


async def _check(token: str, mode: Any, target: str | None, app_name: str) -> int:
    from engine.broker.tinvest.broker import TInvestBroker
    from engine.broker.tinvest.proto import investapi_pb2 as pb

    broker = TInvestBroker(token, mode=mode, target=target, app_name=app_name)
    try:
        info = await broker.transport.call("UsersService", "GetInfo", pb.GetInfoRequest())
        print(
            f"avin: token valid at {broker.config.target} ({mode.value}); "
            f"tariff {info.tariff or '-'}"
        )
        return EXIT_OK
    finally:
        await broker.close()
