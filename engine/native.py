"""The compiled backtest core: the hot modules of a backtest built by mypyc, loaded on request.

``make native`` (packaging/native_build.py) compiles :data:`MODULES` from this source tree into
``.native/`` beside the packages, with a manifest of each source's SHA-256. :func:`enable`
puts a finder in front of the import system that loads those builds instead of the ``.py``
files, all of them or none: the compiled modules call one another directly, so a build is used
only when every source is the one it was built from, for this Python, and none of them is
imported yet. Anything else leaves the interpreted modules in place and says why.

Who turns it on: ``avin backtest`` (its sweeps and walk-forward too, and the worker processes
they spawn) unless ``AVIN_NATIVE=0``. Nothing else: the live engine subclasses some of these
classes in interpreted modules, which a compiled class refuses. The same source runs either way,
and the tests pin that both give the same report.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent  # the folder holding the packages
BUILD = ROOT / ".native"
MANIFEST = "manifest.json"
ENV = "AVIN_NATIVE"  # "0": never load the build
WORKER_ENV = "AVIN_NATIVE_WORKER"  # set by enable(): a worker process of this one loads it too

# a backtest's own loop, its order/fill/position path and its pre-trade gate and report
MODULES = (
    "engine.backtest.array_charts",
    "engine.backtest.book",
    "engine.backtest.charts",
    "engine.backtest.gate",
    "engine.backtest.report",
    "engine.backtest.runner",
    "engine.backtest.sparse",
    "engine.broker.sim.matching",
    "engine.model.bar",
    "engine.model.order",
    "engine.model.order_book",
    "engine.model.position",
    "engine.risk.gate",
    "engine.risk.window",
    "engine.strategy.chart",
    "engine.strategy.context",
    "engine.strategy.host",
)


def source(module: str) -> Path:
    return ROOT.joinpath(*module.split(".")).with_suffix(".py")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tag() -> str:
    """What a build must match: this interpreter's extension suffix (version, ABI, machine)."""
    return importlib.machinery.EXTENSION_SUFFIXES[0]


@dataclass(frozen=True)
class Build:
    """A build found in ``.native``: module name -> extension file (the shared library too)."""

    files: dict[str, Path]


def find(build: Path | None = None, modules: Sequence[str] = MODULES) -> Build | str:
    """The usable build in ``build`` (``.native``), or why there is none (a line for a person)."""
    build = BUILD if build is None else build
    try:
        manifest = json.loads((build / MANIFEST).read_text())
    except FileNotFoundError:
        return "no compiled build (make native builds it)"
    except (OSError, ValueError) as exc:
        return f"its manifest cannot be read ({exc}); make native builds it again"
    if manifest.get("failed"):
        return f"its build failed: {manifest['failed']}"
    if manifest.get("tag") != tag():
        return f"it was built for another Python ({manifest.get('tag')}); make native"
    sources = manifest.get("sources", {})
    for module in modules:
        path = source(module)
        if module not in sources or not path.exists() or digest(path) != sources[module]:
            where = path.relative_to(ROOT)
            return f"{where} changed since it was built; make native builds it again"
    files = {name: build / rel for name, rel in manifest.get("files", {}).items()}
    missing = [name for name in [*modules, manifest.get("group", "")] if name not in files]
    if missing or not all(path.exists() for path in files.values()):
        return "its files are incomplete; make native builds it again"
    return Build(files)


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, build: Build) -> None:
        self.files = build.files

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        file = self.files.get(fullname)
        if file is None:
            return None
        loader = importlib.machinery.ExtensionFileLoader(fullname, str(file))
        return importlib.util.spec_from_file_location(fullname, file, loader=loader)


def enable(build: Path | None = None) -> str | None:
    """Load the compiled modules from now on: None when it will, else why it won't."""
    if active():
        return None
    if os.environ.get(ENV) == "0":
        return f"{ENV}=0"
    found = find(build)
    if isinstance(found, str):
        return found
    early = sorted(m for m in MODULES if m in sys.modules)
    if early:
        return f"{early[0]} was imported before the compiled build could be put in place"
    sys.meta_path.insert(0, _Finder(found))
    os.environ[WORKER_ENV] = "1"  # a sweep's spawned workers load it too (engine/__init__.py)
    return None


def active() -> bool:
    """Whether the compiled build is in place in this process."""
    return any(isinstance(finder, _Finder) for finder in sys.meta_path)


def compiled(module: ModuleType) -> bool:
    """Whether ``module`` was loaded from a compiled extension."""
    spec = module.__spec__
    return spec is not None and isinstance(spec.loader, importlib.machinery.ExtensionFileLoader)
