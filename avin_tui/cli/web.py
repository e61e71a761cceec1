"""``avin web``: the terminal app in a browser (textual-serve), behind a random access token.

Every browser session runs its own child process (``avin attach`` by default: the terminal app
attached to the robot running on this home) and talks to it over a websocket; the server itself
holds no trading state. The address to open carries the token (:mod:`avin_tui.cli.web_server`);
it is printed on a terminal and always written to ``web.url`` in the state home (0600), never
logged. Loopback only, unless TLS is given (docs/operations.md, "The terminal app in a browser").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import ipaddress
import logging
import os
import secrets
import shlex
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from avin_tui.cli.errors import EXIT_CONFIG, EXIT_OK, EXIT_UNAVAILABLE
from avin_tui.cli.listen import add_listen_options

if TYPE_CHECKING:
    from avin_tui.cli.web_server import TokenServer

DEFAULT_PORT = 8765
URL_FILE = "web.url"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    web = subparsers.add_parser(
        "web",
        help="the terminal app in a browser (textual-serve), behind an access token",
        description="Serve the terminal app to a browser: each browser session is the app "
        "attached to the robot running on this home. Prints the address to open; it carries a "
        "random access token (also written to web.url in the state home, mode 0600), and any "
        "request without it is refused. Loopback only, unless TLS is given.",
    )
    add_listen_options(web, DEFAULT_PORT)
    web.add_argument(
        "--endpoint",
        metavar="PATH",
        help="the robot's control socket, for `avin attach --endpoint` (default: control.sock "
        "in the state home)",
    )
    web.add_argument(
        "--command",
        metavar="CMD",
        help="instead of `avin attach`: the shell command each browser session runs (a "
        "Textual app)",
    )
    web.set_defaults(func=cmd_web)


def _session_command(args: argparse.Namespace) -> str:
    if args.command:
        return str(args.command)
    from avin_tui.cli.supervise import avin_command

    endpoint = ["--endpoint", args.endpoint] if args.endpoint else []  # as given: same cwd
    argv = [*avin_command(), "attach", *endpoint]
    # the command goes to a shell: cmd.exe quotes otherwise than a POSIX shell
    return subprocess.list2cmdline(argv) if os.name == "nt" else shlex.join(argv)


def _no_robot_note(args: argparse.Namespace) -> str | None:
    """What to say when no robot serves the socket the sessions will attach to (a robot may
    still start later: each session looks when it opens)."""
    if args.command:
        return None
    from avin_tui.cli.attach import robot_serves
    from engine.control.endpoint import socket_path

    path = Path(args.endpoint) if args.endpoint else socket_path()
    if robot_serves(path):
        return None
    return (
        f"note: no robot serves {path} yet; a browser session opened before one runs shows "
        '"Session ended" (start one: avin run --headless)'
    )


def _unspecified(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def _shown_host(host: str) -> str:
    """The host part of the address to open (this machine's name for 0.0.0.0 or ::)."""
    if _unspecified(host):
        return socket.gethostname()
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


class WebSetupError(ValueError):
    """The server cannot start as asked (a public address without TLS, an unreadable key)."""


def _tls_context(args: argparse.Namespace) -> ssl.SSLContext | None:
    """The TLS context for --tls-cert/--tls-key, None without them (on loopback only)."""
    from engine.broker.tinvest.channel import is_loopback

    if (args.tls_cert is None) != (args.tls_key is None):
        raise WebSetupError("TLS needs both --tls-cert and --tls-key")
    if args.tls_cert is None:
        if not is_loopback(args.host):
            raise WebSetupError(
                f"refusing to serve on {args.host} without TLS: the access token and the "
                "trading screen would cross the network in clear text. Give --tls-cert and "
                "--tls-key, or serve on 127.0.0.1 and reach it through an SSH tunnel "
                "(ssh -L 8765:127.0.0.1:8765 HOST)"
            )
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        for path in (args.tls_cert, args.tls_key):
            path.read_bytes()
    except OSError as exc:
        raise WebSetupError(
            f"cannot read the TLS certificate or key: {exc.strerror} ({exc.filename})"
        ) from None
    try:
        context.load_cert_chain(args.tls_cert, args.tls_key)
    except ssl.SSLError as exc:
        raise WebSetupError(
            f"the TLS certificate ({args.tls_cert}) and key ({args.tls_key}) are not PEM or do "
            f"not match: {exc.reason or exc}"
        ) from None
    return context


class _Redacting(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        from engine.model.redact import redact

        record.msg, record.args = redact(record.getMessage()), None
        return True


def _log_to_stderr() -> list[tuple[logging.Logger, logging.Handler]]:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler.addFilter(_Redacting())
    added: list[tuple[logging.Logger, logging.Handler]] = []
    for name in ("avin.web", "textual-serve"):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        added.append((logger, handler))
    return added


def cmd_web(args: argparse.Namespace) -> int:
    if args.command and args.endpoint:
        print("avin web: give --endpoint (for avin attach) or --command, not both", file=sys.stderr)
        return EXIT_CONFIG
    if not 0 <= args.port <= 65535:
        print(f"avin web: --port {args.port} is not a port (0 to 65535)", file=sys.stderr)
        return EXIT_CONFIG
    try:
        tls = _tls_context(args)
    except WebSetupError as exc:
        print(f"avin web: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        from avin_tui.cli.web_server import PortTaken, TokenServer
    except ImportError as exc:
        print(
            f"avin web: textual-serve cannot be imported ({exc}): install avin with its "
            "dependencies (`make` in a clone, or `pip install -e .`)",
            file=sys.stderr,
        )
        return EXIT_UNAVAILABLE
    from engine.model.redact import register_secret
    from engine.paths import homes
    from engine.security.token_source import write_private_file

    token = secrets.token_urlsafe(32)
    register_secret(token)
    command = _session_command(args)
    server = TokenServer(command, token, tls=tls is not None)
    url_file = homes().ensure().state / URL_FILE
    scheme = "https" if tls is not None else "http"
    written: list[str] = []

    def listening(port: int) -> None:
        base = f"{scheme}://{_shown_host(args.host)}:{port}"
        url = f"{base}/?token={token}"
        write_private_file(url_file, url + "\n")
        written.append(url)
        print(f"avin web: the terminal app at {base} (each browser session runs: {command})")
        if sys.stdout.isatty():
            print(f"open: {url}")
            print(f"(also in {url_file}, mode 0600; anyone with this address controls the robot)")
        else:
            print(f"open the address in {url_file} (mode 0600): it carries the access token")
        if note := _no_robot_note(args):
            print(note)
        print("Ctrl-C stops it.", flush=True)

    logs = _log_to_stderr()
    try:
        asyncio.run(_serve_until_stopped(server, args.host, args.port, tls, listening))
    except PortTaken as exc:
        if exc.errno == errno.EADDRINUSE:
            why = "the port is in use; pick another with --port (0: any free one)"
        else:
            why = f"{exc.strerror or exc}; check --host and --port"
        print(
            f"avin web: cannot listen on {_shown_host(args.host)}:{args.port}: {why}",
            file=sys.stderr,
        )
        return EXIT_UNAVAILABLE
    finally:
        for logger, handler in logs:
            logger.removeHandler(handler)
        with contextlib.suppress(OSError):
            if written and url_file.read_text(encoding="utf-8").strip() == written[0]:
                url_file.unlink()
    print("avin web: stopped")
    return EXIT_OK


async def _serve_until_stopped(
    server: TokenServer,
    host: str,
    port: int,
    tls: ssl.SSLContext | None,
    listening: Callable[[int], None],
) -> None:
    from avin_tui.cli.web_server import serve

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    numbers = [signal.SIGINT, signal.SIGTERM]
    # SIGHUP (the SSH session that ran it ended) stops it too; under nohup it stays ignored
    hangup = getattr(signal, "SIGHUP", None)
    if hangup is not None and signal.getsignal(hangup) is not signal.SIG_IGN:
        numbers.append(hangup)
    for number in numbers:
        try:
            loop.add_signal_handler(number, stop.set)
        except (NotImplementedError, RuntimeError):  # Windows: Ctrl-C raises KeyboardInterrupt
            logging.getLogger("avin.web").debug("no handler for signal %s here", number)
    await serve(server, host, port, tls, listening, stop)


__all__ = ["DEFAULT_PORT", "URL_FILE", "cmd_web", "register"]
