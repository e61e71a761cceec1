"""``avin config check``: validate the config file, the AVIN_* variables and the strategy rows."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from avin_tui.cli.errors import EXIT_OK, print_problems
from engine.broker.tinvest.safety import mode_for


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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


def cmd_config_check(args: argparse.Namespace) -> int:
    from engine.config import check_config, default_config_path

    path = args.config or default_config_path()
    problems = check_config(args.config)
    if not problems:
        problems = _strategy_problems(path)
    if problems:
        print_problems(problems)
        return 1
    where = path if Path(path).exists() else f"{path} (absent: defaults and AVIN_* variables)"
    print(f"avin: the configuration is valid: {where}")
    from engine.config import load_settings
    from engine.paths import homes
    from engine.security.checkup import control_notes, token_notes

    settings = load_settings(path, token_needed=False)
    for note in token_notes(homes().config, Path(path), settings.mode):  # the token's source
        print(f"avin: {note}")
    control = settings.control
    for note in control_notes(control, homes().state):  # the control API over TCP, its token
        print(f"avin: {note}")
    return EXIT_OK


def _strategy_problems(path: Path) -> list[Any]:
    """The configured strategies that cannot be built (unknown name, bad parameters) and rows
    that repeat another one (the engine's own row checks, engine.runtime.worklist)."""
    from engine.config import ConfigProblem, config_key, load_settings
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
                    config_key("strategies", i, "instrument"),
                    f"{spec.instrument!r} is not traded on the simulated market",
                    "use one of " + ", ".join(sorted(k for k in sim_known if k.isalpha())),
                )
            )
        for message in spec_problems(spec):
            problems.append(
                ConfigProblem(
                    str(path),
                    config_key("strategies", i),
                    message,
                    "fix the strategy name or its params (see `avin config check` docs)",
                )
            )
        earlier = [(ids[j], specs[j], "") for j in range(i)]
        for message in duplicate_problems(spec, earlier)[0]:
            problems.append(
                ConfigProblem(
                    str(path), config_key("strategies", i), message, "remove one of the rows"
                )
            )
    return problems


def _sim_instruments(settings: Any) -> set[str]:
    """Tickers, codes, uids and figis of the simulated market when the config trades there
    (no token), else empty: a broker's instruments are checked when a row starts."""
    from engine.broker.sim import SIM_INSTRUMENTS
    from engine.model import Mode

    try:
        if mode_for(settings) is not Mode.SIM:
            return set()
    except Exception:
        return set()
    return {
        key.upper() for i in SIM_INSTRUMENTS for key in (i.ticker, i.code, i.uid, i.figi) if key
    }
