"""``make native``: compile the backtest core (engine.native.MODULES) with mypyc into .native/.

Built in a scratch folder, then put in place whole: a failed or interrupted build never leaves
half a build behind. A failure (no C compiler, say) is written into the manifest and printed,
and exits 0: avin then runs the interpreted modules and says why (engine/native.py), and make
does not try again until a source changes. ``--strict`` exits 1 on a failure instead (CI).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import native  # noqa: E402


def compile_into(scratch: Path) -> dict[str, str]:
    """Build every module under ``scratch``; module name -> extension file, relative."""
    from mypyc.build import mypycify
    from setuptools import Distribution

    sources = [str(native.source(m).relative_to(ROOT)) for m in native.MODULES]
    extensions = mypycify(sources, opt_level="3", target_dir=str(scratch / "c"))
    lib = scratch / "lib"
    dist = Distribution({"ext_modules": extensions, "script_name": "native_build"})
    dist.script_args = [
        "build_ext",
        f"--build-lib={lib}",
        f"--build-temp={scratch / 'obj'}",
        f"--parallel={os.cpu_count() or 1}",
    ]
    dist.parse_command_line()
    dist.run_commands()
    files: dict[str, str] = {}
    for ext in extensions:
        found = list(lib.glob(ext.name.replace(".", "/") + ".*"))
        if len(found) != 1:
            raise RuntimeError(f"no single extension file for {ext.name}: {found}")
        files[ext.name] = str(found[0].relative_to(lib))
    return files


def build(target: Path = native.BUILD) -> str | None:
    """Build into ``target``; None when built, else why not (also kept in its manifest)."""
    manifest: dict[str, object] = {
        "tag": native.tag(),
        "sources": {m: native.digest(native.source(m)) for m in native.MODULES},
    }
    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="avin-native-"))
    try:
        failure = _compile(scratch, manifest)
        manifest["seconds"] = round(time.monotonic() - started, 1)
        _put_in_place(scratch / "lib", manifest, target)
    finally:  # an interrupted build leaves nothing behind
        shutil.rmtree(scratch, ignore_errors=True)
    return failure


def _compile(scratch: Path, manifest: dict[str, object]) -> str | None:
    cwd = Path.cwd()
    try:
        os.chdir(ROOT)  # mypyc names the modules by their paths from here
        files = compile_into(scratch)
        group = [name for name in files if name not in native.MODULES]
        if len(group) != 1:
            raise RuntimeError(f"expected one shared library besides the modules, got {group}")
        manifest.update(group=group[0], files=files)
        return None
    except (Exception, SystemExit) as exc:  # a compiler error ends setuptools with SystemExit
        lines = str(exc).strip().splitlines()
        failure = f"{type(exc).__name__}: {lines[-1] if lines else ''}"[:300]
        manifest["failed"] = failure
        return failure
    finally:
        os.chdir(cwd)


def _put_in_place(lib: Path, manifest: dict[str, object], target: Path) -> None:
    """The new build (or only the manifest of a failed one) replaces ``target`` whole."""
    staged = Path(tempfile.mkdtemp(prefix=".native-", dir=target.parent))
    try:
        files = manifest.get("files", {})
        assert isinstance(files, dict)
        for rel in files.values():
            (staged / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(lib / rel, staged / rel)
        (staged / native.MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
        old = target.with_name(target.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            target.rename(old)
        staged.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staged, ignore_errors=True)  # gone already when it was put in place


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strict", action="store_true", help="exit 1 when the build fails")
    parser.add_argument("--quiet", action="store_true", help="hide the compiler's output")
    args = parser.parse_args()
    if args.quiet:
        log = open(os.devnull, "w")  # noqa: SIM115 - kept open for the whole build
        os.dup2(log.fileno(), 1)
    failure = build()
    if failure is None:
        print(
            f"compiled backtest core: {len(native.MODULES)} modules in {native.BUILD}",
            file=sys.stderr,
        )
        return 0
    print(
        f"compiled backtest core not built ({failure}); avin backtest runs interpreted",
        file=sys.stderr,
    )
    return 1 if args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
