"""Which strategies run where: the configured rows (or the demo), and the checks of a row.

A row is a :class:`StrategySpec`: strategy x instrument x account x parameters x budget
(``configs/worklist.example.toml``). At runtime
:class:`~engine.runtime.worklist_manager.WorklistManager` adds, removes, starts and stops rows
and saves the worklist with each row's state in the status store. The next run brings the saved
worklist back (paused and stopped rows stay so) unless the configured rows changed since it was
saved: then the configuration wins (:func:`initial_worklist`).

A row is checked before it is added (``WorklistManager.check``): the strategy builds with its
parameters, the broker knows the instrument and the account, and no row with the same strategy,
instrument, account, timeframe and parameters exists (it would double the position). The offline
part (:func:`spec_problems`, :func:`duplicate_problems`) also checks the configured rows
(``avin config check``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from engine.model.budget import Budget

if TYPE_CHECKING:
    from engine.state.status_store import StatusStore

log = logging.getLogger("avin.worklist")


@dataclass(frozen=True, slots=True)
class StrategySpec:
    name: str  # registry name (``sma_cross``) or ``package.module:ClassName``
    instrument: str  # ticker or code
    account: str = "sim-1"
    timeframe: str = "1M"
    params: dict[str, Any] = field(default_factory=dict)
    # the capital budget the row's orders cannot exceed: RUB or a share of the account's equity
    # (an amount given as a Decimal or int becomes a Budget)
    budget: Budget | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "budget", Budget.coerce(self.budget))

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "instrument": self.instrument,
            "account": self.account,
            "timeframe": self.timeframe,
            "params": dict(self.params),
            "budget": None if self.budget is None else str(self.budget),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StrategySpec:
        budget = data.get("budget")
        return cls(
            str(data["name"]),
            str(data["instrument"]),
            str(data.get("account", "sim-1")),
            str(data.get("timeframe", "1M")),
            dict(data.get("params") or {}),
            None if budget in (None, "") else Budget.parse(budget),
        )


DEMO_WORKLIST: tuple[StrategySpec, ...] = (
    StrategySpec("sma_cross", "SBER"),
    StrategySpec("sma_cross", "GAZP"),
    StrategySpec("sma_cross", "LKOH"),
)


class _Row(Protocol):
    name: str
    instrument: str
    account: str
    timeframe: str
    params: dict[str, Any]


def worklist_from_rows(rows: Iterable[_Row]) -> list[StrategySpec]:
    """The configured strategy rows, or the demo worklist when the list is empty."""
    specs = [
        StrategySpec(
            r.name,
            r.instrument,
            r.account,
            r.timeframe,
            dict(r.params),
            getattr(r, "budget", None),
        )
        for r in rows
    ]
    return specs or list(DEMO_WORKLIST)


def _fingerprint(specs: Iterable[StrategySpec]) -> str:
    text = json.dumps([s.to_json() for s in specs], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def initial_worklist(rows: Iterable[_Row], store: StatusStore | None) -> list[StrategySpec]:
    """The worklist saved at runtime when the configured rows are unchanged, else the config's."""
    configured = worklist_from_rows(rows)
    saved = store.load_worklist() if store is not None else None
    if not saved:
        return configured
    if saved.get("config") != _fingerprint(configured):
        log.warning("the configured worklist changed since the last run: using the configuration")
        return configured
    try:
        return [StrategySpec.from_json(row) for row in saved.get("rows", [])]
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        log.error("the saved worklist is unreadable (%s): using the configuration", exc)
        return configured


CHECK_TIMEOUT = 10.0  # seconds the broker gets to answer the checks of a new row


@dataclass(frozen=True, slots=True)
class SpecCheck:
    """What :meth:`WorklistManager.check` found: errors refuse the row; warnings need a yes."""

    spec: StrategySpec
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors


def instrument_key(text: str) -> str:
    """``SBER`` and ``MOEX_SHARE_SBER`` alike (a uid or figi stays as it is, upper-cased)."""
    from engine.model import parse_code

    try:
        return "_".join(parse_code(text))
    except ValueError:
        return text.strip().upper()


def _same_row_key(spec: StrategySpec, code: str = "") -> tuple[str, str, str]:
    return (spec.name.strip().lower(), code or instrument_key(spec.instrument), spec.account)


def _params_key(spec: StrategySpec) -> str:
    """The timeframe and the effective parameters (defaults filled in, when it builds)."""
    from engine.strategy.registry import build

    params: Any = spec.params
    timeframe = spec.timeframe.strip().upper()
    try:
        strategy = build(spec.name, spec.params, spec.timeframe)
        params, timeframe = strategy.params, strategy.timeframe.code
    except Exception:
        pass  # a row that does not build is reported as such; compare what it says
    return json.dumps({"tf": timeframe, "params": params}, sort_keys=True, default=str)


def spec_problems(spec: StrategySpec) -> list[str]:
    """What is wrong with a row on its own (no broker needed): names, parameters, budget."""
    from engine.strategy.registry import build

    problems: list[str] = []
    if not spec.name.strip():
        problems.append("strategy: required (e.g. sma_cross)")
    if not spec.instrument.strip():
        problems.append("instrument: required (a ticker like SBER or a code like MOEX_SHARE_SBER)")
    if not spec.account.strip():
        problems.append("account: required (e.g. sim-1)")
    budget = spec.budget.problem() if spec.budget is not None else ""
    if budget:
        problems.append(f"budget: {budget} (or empty for none)")
    if spec.name.strip():
        try:
            build(spec.name, spec.params, spec.timeframe)
        except Exception as exc:
            problems.append(f"strategy {spec.name!r}: {exc}")
    return problems


def duplicate_problems(
    spec: StrategySpec,
    existing: Sequence[tuple[str, StrategySpec, str]],
    code: str = "",
) -> tuple[list[str], list[str]]:
    """(errors, warnings) of ``spec`` against ``existing`` rows ``(id, spec, instrument code)``.

    The same strategy, instrument, account, timeframe and parameters is an error (two rows
    would trade the same signals twice and double the position); the same strategy on the same
    instrument and account with other parameters is a warning (allowed, but easy to do by
    mistake).
    """
    errors: list[str] = []
    warnings: list[str] = []
    key = _same_row_key(spec, code)
    for sid, other, other_code in existing:
        if _same_row_key(other, other_code) != key:
            continue
        where = f"{spec.name} on {spec.instrument.upper()} ({spec.account})"
        if _params_key(other) == _params_key(spec):
            errors.append(
                f"duplicate: {sid} already runs {where} with the same timeframe and parameters "
                "(a second row would double the position); change the parameters or the "
                "account, or start the existing row"
            )
        else:
            warnings.append(
                f"{sid} already runs {where} (timeframe {other.timeframe}, params "
                f"{json.dumps(other.params, sort_keys=True, default=str)}): both rows trade "
                "their own position on the same account"
            )
    return errors, warnings


def unique_id(base: str, taken: Iterable[str]) -> str:
    used = set(taken)
    if base not in used:
        return base
    n = 2
    while f"{base}#{n}" in used:
        n += 1
    return f"{base}#{n}"
