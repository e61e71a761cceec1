"""avin's configuration: a TOML file in the config home plus ``AVIN_*`` environment variables.

Precedence: environment (``AVIN_MODE``, ``AVIN_TOKEN``, nested keys as ``AVIN_SIM__SPEED``) over the
file over defaults. ``configs/avin.example.toml`` documents every key. An unknown key or a bad value
is a :class:`ConfigError` listing each problem with its file (or variable), key and what to do.
"""

from __future__ import annotations

import logging
import os
import tomllib
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from engine.model import TimeFrame
from engine.model.budget import Budget
from engine.paths import homes
from engine.security.token_source import TokenSourceError, env_token_set, external_token

_config_path: ContextVar[Path | None] = ContextVar("avin_config_path", default=None)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SimSettings(_Section):
    seed: int = 7
    speed: float = Field(240.0, gt=0, description="simulated seconds per real second")
    start: datetime | None = None
    cash: Decimal = Field(Decimal(1_000_000), ge=0)
    commission: Decimal = Field(Decimal("0.0005"), ge=0, lt=1)


class EngineSettings(_Section):
    snapshot_interval: float = Field(5.0, gt=0)
    history_days: int = Field(3, ge=0, le=60)
    error_storm: int = Field(5, ge=1, description="strategy errors per minute that halt trading")


class StateSettings(_Section):
    engine: Literal["diskcache", "postgres"] = "diskcache"
    dsn: SecretStr | None = Field(None, description="PostgreSQL connection string (postgres)")
    schema_name: str = Field("avin", alias="schema", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    sync: Literal["normal", "full"] = "normal"


class UiSettings(_Section):
    theme: Literal["dark", "light"] = "dark"
    refresh_hz: float = Field(4.0, gt=0, le=30)


class LogSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"


class PrivacySettings(_Section):
    """``[privacy]``: what a person or a screenshot may see (docs/security.md)."""

    hide_accounts: bool = Field(
        False, description="show account ids masked (…1234) in logs, the console and the panes"
    )


class ControlSettings(_Section):
    """``[control]``: the control API over TCP besides the unix socket (docs/operations.md)."""

    listen: str | None = Field(
        None, description="host:port to serve the control API on (with a token); none: socket only"
    )
    tls_cert: Path | None = Field(None, description="PEM certificate: TLS on the TCP endpoint")
    tls_key: Path | None = Field(None, description="PEM private key of tls_cert")
    token_file: Path | None = Field(
        None, description="the token file; default state/control.token (made on first serve)"
    )

    @model_validator(mode="after")
    def _served_safely(self) -> ControlSettings:
        from engine.security.service_access import listen_problem

        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together: give both or neither")
        if self.listen:
            problem = listen_problem(self.listen, tls=self.tls_cert is not None)
            if problem:
                raise ValueError(f"listen: {problem}")
        return self


class StrategyRowSettings(_Section):
    name: str
    instrument: str
    account: str = "sim-1"
    timeframe: str = "1M"
    params: dict[str, Any] = Field(default_factory=dict)
    budget: Budget | None = Field(
        None, description='capital budget: RUB (100000) or a share of the account\'s equity ("10%")'
    )

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    @field_validator("timeframe")
    @classmethod
    def _known_timeframe(cls, value: str) -> str:
        return TimeFrame.from_code(value).code

    @field_validator("budget", mode="before")
    @classmethod
    def _budget(cls, value: Any) -> Budget | None:
        return None if value is None else Budget.parse(value)


class AccountSettings(_Section):
    """One trading account of the worklist (``[[accounts]]``)."""

    id: str = Field(min_length=1)
    broker: Literal["sim", "tinvest"] = "sim"
    mode: Literal["sim", "sandbox", "live"] = "sim"
    name: str = ""


class AccountRiskSettings(_Section):
    """``[risk.accounts."<account id>"]``: overrides of the global limits for one account."""

    max_order_lots: int | None = Field(None, ge=1)
    max_order_value: Decimal | None = Field(None, gt=0)
    max_position_lots: int | None = Field(None, ge=1)
    max_gross_exposure: Decimal | None = Field(None, gt=0)
    orders_per_minute: int | None = Field(None, ge=1)
    price_collar: float | None = Field(None, gt=0, le=1)


class StrategyRiskSettings(_Section):
    """``[risk.strategies."<strategy id>"]``: overrides for one worklist row."""

    max_order_lots: int | None = Field(None, ge=1)
    max_order_value: Decimal | None = Field(None, gt=0)
    max_position_lots: int | None = Field(None, ge=1)
    orders_per_minute: int | None = Field(None, ge=1)
    price_collar: float | None = Field(None, gt=0, le=1)


class RiskSettings(_Section):
    """Pre-trade limits and the automatic kill-switch triggers (docs/risk.md)."""

    max_order_lots: int = Field(1000, ge=1)
    max_order_value: Decimal = Field(Decimal(10_000_000), gt=0)
    max_position_lots: int = Field(10_000, ge=1)
    max_gross_exposure: Decimal = Field(Decimal(50_000_000), gt=0)
    orders_per_minute_strategy: int = Field(60, ge=1)
    orders_per_minute_account: int = Field(300, ge=1)
    price_collar: float = Field(0.25, gt=0, le=1)
    check_session: bool = True
    prevent_self_trade: bool = True
    default_budget: Decimal | None = Field(None, gt=0)
    daily_loss_limit: Decimal | None = Field(Decimal(100_000), gt=0)
    max_drawdown: Decimal | None = Field(Decimal(150_000), gt=0)
    reject_limit: int = Field(20, ge=0)
    reject_window: float = Field(60.0, gt=0)
    disconnect_limit: int = Field(5, ge=0)
    disconnect_window: float = Field(300.0, gt=0)
    stale_data_seconds: float = Field(120.0, ge=0)
    clock_skew_warning: float = Field(
        2.0, ge=0, description="seconds between the local and the broker's clock: an incident"
    )
    clock_skew_limit: float = Field(
        30.0, ge=0, description="seconds between the local and the broker's clock: the trigger"
    )
    trigger_action: Literal["halt", "reduce", "flatten"] = "halt"
    flatten_cancel_timeout: float = Field(5.0, gt=0)
    accounts: dict[str, AccountRiskSettings] = Field(default_factory=dict)
    strategies: dict[str, StrategyRiskSettings] = Field(default_factory=dict)

    @field_validator("default_budget", mode="before")
    @classmethod
    def _default_budget_is_money(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().endswith("%"):
            raise ValueError(
                "default_budget is an amount of RUB; a share of equity is given per row "
                '(budget = "10%" in its [[strategies]] table)'
            )
        return value

    @field_validator("clock_skew_limit")
    @classmethod
    def _limit_above_warning(cls, value: float, info: ValidationInfo) -> float:
        warning = info.data.get("clock_skew_warning")
        if value and warning and value <= warning:
            raise ValueError(
                f"must be larger than clock_skew_warning ({warning:g} s), or 0 to disable the "
                "clock_skew trigger"
            )
        return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AVIN_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    mode: Literal["auto", "sim", "sandbox", "live"] = "auto"
    token: SecretStr | None = None
    app_name: str = "avin"
    accept_risk: bool = False  # the risk disclaimer, for runs with no terminal (docs/risk.md)
    tinvest_target: str | None = None  # host:port of the API; empty: the sandbox/production host
    sim: SimSettings = Field(default_factory=SimSettings)
    engine: EngineSettings = Field(default_factory=EngineSettings)
    state: StateSettings = Field(default_factory=StateSettings)
    ui: UiSettings = Field(default_factory=UiSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    control: ControlSettings = Field(default_factory=ControlSettings)
    strategies: list[StrategyRowSettings] = Field(default_factory=list)
    accounts: list[AccountSettings] = Field(default_factory=list)
    risk: RiskSettings = Field(default_factory=RiskSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = _config_path.get()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path is not None and path.exists():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    file: str  # the config file, or "environment" for AVIN_* variables
    key: str  # dotted key, e.g. "sim.speed" or "strategies #2.params" (config_key)
    message: str
    hint: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.message}. {self.hint}"


class ConfigError(Exception):
    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"the configuration has {len(problems)} problem(s):\n{lines}")


def default_config_path() -> Path:
    return homes().config_file


def load_settings(path: Path | None = None, *, token_needed: bool = True) -> Settings:
    """Settings from ``path`` (default: ``avin.toml`` in the config home) and the environment.

    The token comes from the first of ``AVIN_TOKEN``, ``AVIN_TOKEN_FILE``, the OS keyring, the
    config home's ``token`` file and avin.toml (engine/security/token_source.py). A file holding
    a secret that the group or others can read is refused with its fix, as ssh refuses such a
    key (engine/security/file_modes.py).

    ``token_needed=False`` is for the commands that only read or latch the trading state from
    another shell (``avin status``, ``avin kill``): the kill switch must work whatever the state
    of the token files, so they are not read and an open one is a logged warning, not a refusal.
    """
    default = default_config_path()
    if path is not None and Path(path) != default and not Path(path).exists():
        # named (--config), so meant to be there; only the config home's avin.toml is optional
        raise ConfigError(
            [
                ConfigProblem(
                    str(path),
                    "(file)",
                    "no such file",
                    f"check the path (without --config avin reads {default})",
                )
            ]
        )
    path = default if path is None else Path(path)
    file_data = _read_toml(path)
    problems = exposed_secret_files(path, file_data)
    if not token_needed:
        for problem in problems:
            logging.getLogger("avin.security").warning("%s", problem)
        problems = []
    init: dict[str, Any] = {}
    found = None
    try:
        if token_needed and not env_token_set():
            found = external_token(homes().config)
    except TokenSourceError as exc:  # a named source that cannot be used
        problems.append(ConfigProblem(exc.source, "token", exc.message, exc.hint))
    if found is not None:
        init["token"] = found[0]
    if problems:
        raise ConfigError(problems)
    token = _config_path.set(path)
    try:
        settings = Settings(**init)
    except ValidationError as exc:
        raise ConfigError([_problem(err, path, file_data) for err in exc.errors()]) from None
    finally:
        _config_path.reset(token)
    _apply_privacy(settings)
    return settings


def _apply_privacy(settings: Settings) -> None:
    """``[privacy] hide_accounts`` for this process: from here on, the accounts the config names
    (and those the broker reports, engine/broker) are masked wherever text is redacted."""
    from engine.model.redact import hide_accounts, register_account

    hide_accounts(settings.privacy.hide_accounts)
    for account in settings.accounts:
        register_account(account.id)
    for row in settings.strategies:
        register_account(row.account)
    for name in settings.risk.accounts:
        register_account(name)


def exposed_secret_files(path: Path, file_data: dict[str, Any]) -> list[ConfigProblem]:
    """A problem for each file holding a secret that the group or others can read: the config
    file (``token``, ``state.dsn``), the config home's ``token`` file and ``env`` file (the
    systemd unit's EnvironmentFile, packaging/avin.service), and a ``AVIN_TOKEN_FILE`` of ours."""
    from engine.security.file_modes import env_file_secrets, exposure, secret_keys
    from engine.security.token_source import TOKEN_FILE_ENV, home_token_path

    problems = []
    keys = secret_keys(file_data)
    found = exposure(path) if keys else None
    if found is not None:
        what = " and ".join(f"`{key}`" for key in keys)
        problems.append(ConfigProblem(str(path), "(permissions)", found.describe(what), found.fix))
    env_file = homes().config / "env"
    variables = env_file_secrets(env_file)
    found = exposure(env_file) if variables else None
    if found is not None:
        what = " and ".join(variables)
        problems.append(
            ConfigProblem(str(env_file), "(permissions)", found.describe(what), found.fix)
        )
    named = os.environ.get(TOKEN_FILE_ENV, "").strip()
    for token_file in (
        home_token_path(homes().config),
        Path(named).expanduser() if named else None,
    ):
        found = exposure(token_file) if token_file is not None else None
        if found is not None and found.owned:  # a secret mounted by root (Docker): config check
            problems.append(
                ConfigProblem(
                    str(token_file), "(permissions)", found.describe("the token"), found.fix
                )
            )
    return problems


def check_config(path: Path | None = None) -> list[ConfigProblem]:
    try:
        load_settings(path)
    except ConfigError as exc:
        return exc.problems
    return []


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        problem = ConfigProblem(
            str(path), "(syntax)", f"not valid TOML: {exc}", "fix the syntax at that line"
        )
        raise ConfigError([problem]) from None
    except RecursionError:  # tomllib recurses per level of nested arrays and tables
        problem = ConfigProblem(
            str(path),
            "(syntax)",
            "not valid TOML: arrays or tables nested too deeply",
            "a configuration nests a few levels at most; fix the brackets",
        )
        raise ConfigError([problem]) from None
    except UnicodeDecodeError as exc:  # tomllib decodes the whole file first
        line = exc.object[: exc.start].count(b"\n") + 1
        problem = ConfigProblem(
            str(path),
            "(encoding)",
            f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at line {line})",
            "save the file as UTF-8 (TOML files are UTF-8)",
        )
        raise ConfigError([problem]) from None
    except OSError as exc:
        problem = ConfigProblem(str(path), "(file)", f"cannot read: {exc.strerror}", "")
        raise ConfigError([problem]) from None


def config_key(*parts: str | int) -> str:
    """A key as a reader finds it in the file: an entry of an array of tables counted from 1,
    as one counts the ``[[strategies]]`` tables (``strategies #2.params.fast``)."""
    out: list[str] = []
    for part in parts:
        if isinstance(part, int) and out:
            out[-1] += f" #{part + 1}"
        else:
            out.append(str(part))
    return ".".join(out) or "(root)"


def _problem(err: Any, path: Path, file_data: dict[str, Any]) -> ConfigProblem:
    raw = tuple(err.get("loc", ()))
    loc = [str(part) for part in raw]
    key = config_key(*raw)
    kind = err.get("type", "")
    source = str(path) if _in_file(loc, file_data) else "environment"
    if source == "environment":
        env = "AVIN_" + "__".join(part.upper() for part in loc if not part.isdigit())
        source = f"environment ({env})" if env in os.environ else str(path)
    if kind == "extra_forbidden":
        return ConfigProblem(
            source,
            key,
            "unknown key",
            "remove it or check its spelling against configs/avin.example.toml",
        )
    if kind == "missing":
        return ConfigProblem(source, key, "required key is missing", "add it")
    message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    value = err.get("input")
    shown = "" if "token" in loc or isinstance(value, dict | list) else f" (got {value!r})"
    if shown:  # a token pasted under another key is not shown back
        from engine.model.redact import redact

        shown = redact(shown)
    return ConfigProblem(
        source, key, f"{message}{shown}", "see configs/avin.example.toml for allowed values"
    )


def _in_file(loc: list[str], data: Any) -> bool:
    """Whether the key (or, for a missing key, its parent section) comes from the file."""
    node = data
    for depth, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return depth > 0
    return True
