"""Start to first frame of the Linux binary against the same start from the venv.

The binary archive is extracted into a temporary folder; both programs run ``avin run`` (the
simulated market) in a fresh detached tmux session with a fresh AVIN_HOME, interleaved, and report
the wall-clock time of their first frame with panes filled (``AVIN_FIRST_FRAME_FILE``, the same
mechanism as bench/startup.py). The target is a ratio of at most 1.3.

    .venv/bin/python bench/binary_startup.py [dist/avin-<version>-linux-x86_64.tar.gz] [--runs 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("bench_startup", HERE / "startup.py")
assert spec is not None and spec.loader is not None
startup = importlib.util.module_from_spec(spec)
spec.loader.exec_module(startup)


def default_archive() -> Path | None:
    found = sorted((HERE.parent / "dist").glob("avin-*-linux-x86_64.tar.gz"))
    return found[-1] if found else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive", nargs="?", type=Path, default=default_archive())
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: only that it runs")
    args = parser.parse_args()
    if args.smoke:  # make bench-smoke
        args.runs = 1
    if args.archive is None or not args.archive.exists():
        raise SystemExit("no binary archive: run `make binary` first, or name one")
    venv_avin = Path(sys.executable).parent / "avin"
    with tempfile.TemporaryDirectory(prefix="avin-binbench-") as tmp:
        with tarfile.open(args.archive) as tar:
            tar.extractall(tmp, filter="tar")
        [top] = list(Path(tmp).iterdir())
        binary = top / "avin"
        startup.first_frame([str(venv_avin), "run"])  # warm the file cache for both
        startup.first_frame([str(binary), "run"])
        venv, frozen = [], []
        for _ in range(args.runs):
            venv.append(startup.first_frame([str(venv_avin), "run"]))
            frozen.append(startup.first_frame([str(binary), "run"]))
    v, b = statistics.median(venv), statistics.median(frozen)
    print(f"runs: {args.runs} (tmux 100x30, process start -> first frame with panes filled)")
    print(
        f"venv   avin run: median {v * 1000:7.1f} ms  (min {min(venv) * 1000:.1f}, max {max(venv) * 1000:.1f})"
    )
    print(
        f"binary avin run: median {b * 1000:7.1f} ms  (min {min(frozen) * 1000:.1f}, max {max(frozen) * 1000:.1f})"
    )
    print(f"ratio binary / venv: {b / v:.2f}x (target <= 1.30x)  [{args.archive.name}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
