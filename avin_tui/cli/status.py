"""``avin status``: the state of the running (or last) robot, from the persisted status."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from avin_tui.cli.control import add_endpoint_arguments
from avin_tui.cli.errors import EXIT_OK, user_errors

EXIT_NO_STATUS = 1

_STATUS_EPILOG = """\
exit codes: 0 when a status was found (running or not); 1 when no engine has ever run with this
AVIN_HOME. With --json the output is always ONE JSON object: when nothing ever ran it is
{"running": false, "ever_run": false, "message": ...} and the exit code is still 1.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    status = subparsers.add_parser(
        "status",
        help="state of the running (or last) robot",
        description="Print the state of the running robot (live, through its control socket) "
        "or of the last one (the persisted status).",
        epilog=_STATUS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    status.add_argument("--json", action="store_true", help="one JSON object (for scripts)")
    add_endpoint_arguments(status)
    status.set_defaults(func=cmd_status)


def load_status() -> dict[str, Any] | None:
    """The running robot's status through its control socket, else the persisted status
    (running from the live marker), or None when nothing ever ran."""
    live = _live_status()
    if live is not None:
        return live
    from engine.config import load_settings
    from engine.paths import homes
    from engine.state import open_store

    settings = load_settings(token_needed=False)
    if settings.state.engine == "diskcache" and not (homes().state / "status").exists():
        return None
    with open_store(settings) as store:
        return store.status()


def _live_status() -> dict[str, Any] | None:
    from avin_tui.cli.control import robot

    with robot() as client:
        if client is None:
            return None
        from engine.control.client import ControlError

        try:
            data = client.status()
        except ControlError:
            return None  # it went away meanwhile: the store
    data["running"] = True  # the process answered
    data["source"] = "control"  # live from the robot, not the last saved status
    return data


def _remote_status(args: argparse.Namespace) -> dict[str, Any] | str:
    """The status of the robot at ``--endpoint``, or what went wrong."""
    from avin_tui.cli.control import RemoteError, remote, remote_problem
    from engine.control.client import ControlError

    try:
        with remote(args) as client:
            data = client.status()
    except RemoteError as exc:
        return str(exc)
    except ControlError as exc:
        return remote_problem(args.endpoint, exc)
    data["running"] = True
    data["source"] = "control"
    return data


@user_errors
def cmd_status(args: argparse.Namespace) -> int:
    if getattr(args, "endpoint", None):
        found = _remote_status(args)
        if isinstance(found, str):
            if args.json:
                print(json.dumps({"running": False, "endpoint": args.endpoint, "message": found}))
            else:
                print(f"avin: {found}", file=sys.stderr)
            return EXIT_NO_STATUS
        data: dict[str, Any] | None = found
    else:
        data = load_status()
    if data is None:
        message = "no avin engine has run yet with this home; start one with `avin run`"
        if args.json:
            print(json.dumps({"running": False, "ever_run": False, "message": message}))
        else:
            print(f"avin: {message}", file=sys.stderr)
        return EXIT_NO_STATUS
    data.setdefault("ever_run", True)
    data = _private(data)
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        _print_status(data)
    return EXIT_OK


def _private(data: dict[str, Any]) -> dict[str, Any]:
    """The status with account ids masked when ``[privacy] hide_accounts`` is on (the text and
    the JSON alike: a terminal shows both); the stored status keeps the real ids."""
    from contextlib import suppress

    from engine.config import ConfigError, load_settings
    from engine.model.redact import accounts_hidden, redact, register_account

    # sets the hiding and registers the config's accounts; a bad config still shows the status
    # (`avin config check` tells what is wrong)
    with suppress(ConfigError):
        load_settings(token_needed=False)
    if not accounts_hidden():
        return data

    def ids(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "account" and isinstance(value, str):
                    register_account(value)
                ids(value)
        elif isinstance(node, list):
            for item in node:
                ids(item)

    ids(data)
    shown: dict[str, Any] = json.loads(redact(json.dumps(data, ensure_ascii=False)))
    return shown


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
    saved = "live (control socket)" if data.get("source") == "control" else None
    console.print(
        f"saved {saved or data.get('saved_ts') or '-'}"
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
    budgets = [row for row in data.get("budgets", []) if row.get("limit") is not None]
    if budgets:  # the account view (TUI: A): the rows with a budget
        table = Table(title="Budgets", title_justify="left")
        for col in ("strategy", "budget", "RUB", "used", "free", "% of equity"):
            table.add_column(col)
        for row in budgets:
            share = row.get("share")
            table.add_row(
                row["strategy"],
                row.get("budget", ""),
                str(row["limit"]),
                str(row.get("used", "")),
                str(row.get("free", "")),
                "" if share is None else f"{share}%",
            )
        console.print(table)
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
