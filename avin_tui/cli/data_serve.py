"""``avin data serve`` (the store over Arrow Flight) and ``avin data export --remote`` (registered
by ``data.py``). The service is :mod:`engine.data.service`, the client :mod:`engine.data.remote`;
docs/data.md, "Data service"."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import secrets
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from avin_tui.cli.data_console import guard, stdout_console, utc_day
from avin_tui.cli.listen import add_listen_options
from engine.data.errors import DataError

DEFAULT_PORT = 8815


def add_serve_parser(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="serve the stored bars and the instrument list over Arrow Flight (token required)",
        description="Serve the bar store (every timeframe, derived from 1-minute bars) and the "
        "instrument cache over Arrow Flight, and the closed bars of the robot running on this "
        "home (live requests). Every request needs the token this prints where to "
        "find ($AVIN_DATA_TOKEN, else a random one). Loopback only, unless TLS is given.",
    )
    add_listen_options(p, DEFAULT_PORT)
    p.add_argument(
        "--max-requests",
        type=int,
        default=None,
        metavar="N",
        help="bar streams served at once (live streams included); one more is told to retry "
        "(default 16)",
    )
    p.set_defaults(func=guard(cmd_serve))


def add_remote_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--remote",
        metavar="HOST:PORT",
        help="read the bars from a data service (`avin data serve`) instead of the local store; "
        "the token is $AVIN_DATA_TOKEN, else the local service's token file",
    )
    p.add_argument(
        "--tls-root-cert",
        type=Path,
        metavar="PEM",
        help="with --remote: the service uses TLS; trust this certificate (PEM)",
    )
    p.add_argument(
        "--live",
        action="store_true",
        help="with --remote: add the closed bars of the robot running on the service's home, "
        "newer than the stored ones (--to: up to that day)",
    )


class _Redacting(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        from engine.model.redact import redact

        record.msg, record.args = redact(record.getMessage()), None
        return True


def _log_to_stderr() -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler.addFilter(_Redacting())
    logger = logging.getLogger("engine.data.service")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return handler


def cmd_serve(args: argparse.Namespace) -> int:
    from engine.data.flight_request import TOKEN_ENV, flight_missing, token_path
    from engine.security.token_source import write_private_file

    try:
        import pyarrow as pa

        from engine.control.charts import robot_on
        from engine.data.service import DataService
    except ImportError:
        raise flight_missing() from None

    given = os.environ.get(TOKEN_ENV, "").strip()
    token = given or secrets.token_urlsafe(32)
    limit = {} if args.max_requests is None else {"max_requests": args.max_requests}
    try:
        service = DataService(
            token,
            host=args.host,
            port=args.port,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            robot=robot_on(),  # live bars: the robot on this home, through its control socket
            **limit,
        )
    except pa.ArrowException as exc:
        raise DataError(
            f"cannot serve on {args.host}:{args.port}: {str(exc).split('. Detail:')[0]}",
            "Is the port taken? Pick another with --port (0: any free one).",
        ) from None
    path = token_path()
    write_private_file(path, token + "\n")
    out = stdout_console()
    endpoint = service.client_address
    out.print(
        f"avin data serve: {service.store.root} at {service.endpoint}",
        highlight=False,
        soft_wrap=True,
    )
    if given:
        out.print(
            f"token: the value of ${TOKEN_ENV} (also in {path}, mode 0600)",
            highlight=False,
            soft_wrap=True,
        )
    elif sys.stdout.isatty():
        out.print(
            f"token (shown once, also in {path}, mode 0600): {token}",
            highlight=False,
            soft_wrap=True,
        )
    else:
        out.print(
            f"token: in {path} (mode 0600); nothing else shows it", highlight=False, soft_wrap=True
        )
    tls = " --tls-root-cert CERT.pem" if service.tls else ""
    out.print(
        f"clients on this machine and home need nothing more: avin data export SBER --tf 1H "
        f"-o sber.csv --remote {endpoint}{tls}\nelsewhere: {TOKEN_ENV}=<token> avin data export "
        f"... --remote {endpoint}{tls}; Python: engine.data.remote.RemoteStore('{endpoint}', "
        "token)\nCtrl-C stops the service.",
        highlight=False,
        soft_wrap=True,
    )
    sys.stdout.flush()
    handler = _log_to_stderr()
    stop = threading.Event()
    # SIGTERM (systemd, kill) and SIGHUP (the SSH session that ran it ended) stop it cleanly; under
    # `nohup` the ignored SIGHUP stays ignored. SIGHUP is POSIX only: looked up by name.
    stops: list[signal.Signals] = [signal.SIGTERM]
    hangup = getattr(signal, "SIGHUP", None)
    if hangup is not None and signal.getsignal(hangup) is not signal.SIG_IGN:
        stops.append(hangup)
    previous = {number: signal.signal(number, lambda *_: stop.set()) for number in stops}
    # The server answers from its construction on; its serve() is not called: it would take
    # SIGINT (and SIGTERM) from Python and wait for every open call, a live stream never ends.
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for number, old in previous.items():
            signal.signal(number, old)
        service.shutdown()  # ends the live streams, then waits for the calls running
        logging.getLogger("engine.data.service").removeHandler(handler)
        with contextlib.suppress(OSError):
            if path.read_text(encoding="utf-8").strip() == token:
                path.unlink()
    out.print("avin data serve: stopped")
    return 0


def cmd_export_remote(args: argparse.Namespace) -> int:
    from engine.data.errors import TokenError
    from engine.data.flight_request import TOKEN_ENV, flight_missing, token_path
    from engine.model import TimeFrame

    try:
        from engine.data.remote import RemoteStore, export_remote, local_token
    except ImportError:
        raise flight_missing() from None

    tf = TimeFrame.from_code(args.tf)
    token = local_token()
    if token is None:
        raise TokenError(
            f"no token for the data service at {args.remote}",
            f"Set {TOKEN_ENV} to the token `avin data serve` printed (it is also in "
            f"{token_path().name} in the state home of the machine and user that serve).",
        )
    with RemoteStore(args.remote, token, tls_root_cert=args.tls_root_cert) as remote:
        rows = export_remote(
            remote,
            args.ticker,
            tf,
            args.output,
            begin=utc_day(args.since),
            end=utc_day(args.until, end=True),
            live=args.live,
        )
    stdout_console().print(
        f"{rows:,} {tf.code} bars written to {args.output} (from {args.remote})", soft_wrap=True
    )
    return 0


__all__ = ["add_remote_options", "add_serve_parser", "cmd_export_remote"]
