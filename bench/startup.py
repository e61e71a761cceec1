"""Startup time of the terminal app: process start to the first frame, against a bare Textual app.

Each run starts the program in a fresh detached tmux session (a real terminal, 100x30) with a fresh
AVIN_HOME. ``AVIN_FIRST_FRAME_FILE`` makes ``avin`` write the wall-clock time of its first frame
(panes filled from the first engine snapshot) and exit. The baseline is a minimal Textual app that
does the same after its first refresh, measured in the same run, so the ratio is what avin adds.

    .venv/bin/python bench/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
_RUNS = itertools.count()
BASELINE = """
import os, time
from textual.app import App
from textual.widgets import Static

class Minimal(App[None]):
    def compose(self):
        yield Static("hello")

    def on_mount(self):
        self.call_after_refresh(self.done)

    def done(self):
        with open(os.environ["AVIN_FIRST_FRAME_FILE"], "w") as f:
            f.write(f"{time.time():.6f}\\n")
        self.exit()

Minimal().run()
"""


def first_frame(command: list[str], timeout: float = 60.0) -> float:
    """Seconds from spawning ``command`` in tmux to the time it reports for its first frame."""
    tmux = shutil.which("tmux")
    if tmux is None:
        raise SystemExit("bench/startup.py needs tmux (a real terminal)")
    with tempfile.TemporaryDirectory(prefix="avin-bench-", ignore_cleanup_errors=True) as tmp:
        stamp = Path(tmp) / "first_frame"
        socket = f"avin-bench-{os.getpid()}-{next(_RUNS)}"  # a fresh tmux server per run
        env = {"AVIN_HOME": tmp, "AVIN_FIRST_FRAME_FILE": str(stamp), "TERM": "xterm-256color"}
        args = [tmux, "-L", socket, "-f", "/dev/null", "new-session", "-d", "-x", "100", "-y", "30"]
        for key, value in env.items():
            args += ["-e", f"{key}={value}"]
        shell = " ".join(command)
        try:
            start = time.time()
            subprocess.run([*args, shell], check=True, timeout=10)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                text = stamp.read_text() if stamp.exists() else ""
                if text.endswith("\n"):
                    return float(text) - start
                time.sleep(0.005)
            raise SystemExit(f"no first frame within {timeout}s from: {shell}")
        finally:
            subprocess.run([tmux, "-L", socket, "kill-server"], capture_output=True, timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: only that it runs")
    args = parser.parse_args()
    if args.smoke:  # make bench-smoke
        args.runs = 1
    avin = BIN / "avin"
    if not avin.exists():
        raise SystemExit(f"{avin} is missing: pip install -e .")
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(BASELINE)
        baseline_script = f.name
    try:
        first_frame([sys.executable, baseline_script])  # warm the file cache for both
        first_frame([str(avin), "run"])
        base, app = [], []
        for _ in range(args.runs):  # interleaved, so load changes hit both alike
            base.append(first_frame([sys.executable, baseline_script]))
            app.append(first_frame([str(avin), "run"]))
    finally:
        os.unlink(baseline_script)
    b, a = statistics.median(base), statistics.median(app)
    print(f"runs: {args.runs} (tmux 100x30, process start -> first frame)")
    print(f"baseline (minimal Textual app): median {b * 1000:7.1f} ms  " + _spread(base))
    print(f"avin run (SIM, panes filled):   median {a * 1000:7.1f} ms  " + _spread(app))
    print(f"ratio avin / baseline: {a / b:.2f}x")
    return 0


def _spread(values: list[float]) -> str:
    return f"(min {min(values) * 1000:.1f}, max {max(values) * 1000:.1f})"


if __name__ == "__main__":
    sys.exit(main())
