"""avin's configuration: a TOML file in the config home plus ``AVIN_*`` environment variables.

Precedence: environment (``AVIN_MODE``, ``AVIN_TOKEN``, nested keys as ``AVIN_SIM__SPEED``) over the
file over defaults. ``configs/avin.example.toml`` documents every key. An unknown key or a bad value
is a :class:`ConfigError` listing each problem with its file (or variable), key and what to do.
"""

from __future__ import annotations

import os
import tomllib
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from engine.model import Mode, TimeFrame
from engine.paths import homes

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


class UiSettings(_Section):
    theme: Literal["dark", "light"] = "dark"
    refresh_hz: float = Field(4.0, gt=0, le=30)


class LogSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"


class StrategyRowSettings(_Section):
    name: str
    instrument: str
    account: str = "sim-1"
    timeframe: str = "1M"
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("timeframe")
    @classmethod
    def _known_timeframe(cls, value: str) -> str:
        return TimeFrame.from_code(value).code


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AVIN_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    mode: Literal["auto", "sim", "sandbox", "live"] = "auto"
    token: SecretStr | None = None
    app_name: str = "avin"
    sim: SimSettings = Field(default_factory=SimSettings)
    engine: EngineSettings = Field(default_factory=EngineSettings)
    ui: UiSettings = Field(default_factory=UiSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    strategies: list[StrategyRowSettings] = Field(default_factory=list)

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

    def resolved_mode(self) -> Mode:
        """SIM without a token; ``auto`` with a token means the sandbox, never production."""
        if self.mode == "auto":
            return Mode.SIM if self.token is None else Mode.SANDBOX
        return Mode(self.mode)


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    file: str  # the config file, or "environment" for AVIN_* variables
    key: str  # dotted key, e.g. "sim.speed"
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


def load_settings(path: Path | None = None) -> Settings:
    """Settings from ``path`` (default: ``avin.toml`` in the config home) and the environment."""
    path = default_config_path() if path is None else Path(path)
    file_data = _read_toml(path)
    token = _config_path.set(path)
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError([_problem(err, path, file_data) for err in exc.errors()]) from None
    finally:
        _config_path.reset(token)


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
    except OSError as exc:
        problem = ConfigProblem(str(path), "(file)", f"cannot read: {exc.strerror}", "")
        raise ConfigError([problem]) from None


def _problem(err: Any, path: Path, file_data: dict[str, Any]) -> ConfigProblem:
    loc = [str(part) for part in err.get("loc", ())]
    key = ".".join(loc) or "(root)"
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
    message = str(err.get("msg", "invalid value"))
    value = err.get("input")
    shown = "" if "token" in loc or isinstance(value, dict | list) else f" (got {value!r})"
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
