"""Coverage-guided fuzzing of one target with atheris (libFuzzer): ``make fuzz`` runs each.

    python tests/fuzz/run.py TARGET [SECONDS] [--corpus DIR]

The corpus lives in ``build/fuzz/<target>/`` (seeded from :func:`targets.seeds` on every run,
kept between runs). A finding stops the run and leaves ``build/fuzz/crash-<target>-*``: copy it
to ``tests/fuzz/regressions/<target>/`` (the test suite replays that folder) and fix the parser.
At the end one line says the time, executions and corpus size (``FUZZ <target> ...``).

Needs the optional ``fuzz`` extra (``pip install -e '.[fuzz]'``, Linux x86-64).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def _seed(corpus: Path, target: str) -> None:
    from tests.fuzz.targets import seeds

    corpus.mkdir(parents=True, exist_ok=True)
    regressions = ROOT / "tests" / "fuzz" / "regressions" / target
    inputs = list(seeds(target))
    if regressions.is_dir():
        inputs += [p.read_bytes() for p in sorted(regressions.iterdir()) if p.is_file()]
    for data in inputs:
        (corpus / hashlib.sha1(data).hexdigest()).write_bytes(data)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target")
    parser.add_argument("seconds", nargs="?", type=int, default=60)
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--max-len", type=int, default=4096)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Runs the fuzzer in a child (libFuzzer ends its process without Python's clean-up) and
    says what it did: ``FUZZ <target>: <s> s, <n> executions, corpus <k> files (<m> in use,
    <c> coverage points)[, FINDING ...]``."""
    args = _arguments(argv)
    if args.child:
        return fuzz(args)
    from tests.fuzz.targets import TARGETS

    if args.target not in TARGETS:
        print(f"unknown target {args.target!r}; known: {', '.join(TARGETS)}", file=sys.stderr)
        return 2
    corpus = args.corpus or ROOT / "build" / "fuzz" / args.target
    _seed(corpus, args.target)
    command = [sys.executable, __file__, "--child", *(argv if argv is not None else sys.argv[1:])]
    if args.corpus is None:
        command += ["--corpus", str(corpus)]
    started = time.monotonic()
    child = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, errors="replace")
    assert child.stderr is not None
    runs, active, cov = "?", "?", "?"
    for line in child.stderr:
        sys.stderr.write(line)
        done = re.match(r"Done (\d+) runs in", line)
        if done:
            runs = done.group(1)
        stats = re.search(r"\bcov: (\d+) .*\bcorp: (\d+)/", line)
        if stats:
            cov, active = stats.groups()
    code = child.wait()
    size = sum(1 for p in corpus.iterdir() if p.is_file())
    verdict = "" if code == 0 else f", FINDING (exit {code}; see build/fuzz/crash-{args.target}-*)"
    print(
        f"FUZZ {args.target}: {time.monotonic() - started:.0f} s, {runs} executions, "
        f"corpus {size} files ({active} in use, {cov} coverage points){verdict}",
        flush=True,
    )
    return code


def fuzz(args: argparse.Namespace) -> int:
    import tempfile

    # whatever a target touches in avin's homes (the workspace's old ui.json) is a scratch one
    os.environ["AVIN_HOME"] = tempfile.mkdtemp(prefix="avin-fuzz-home-")
    try:
        import atheris
    except ImportError:
        print("atheris is not installed: pip install -e '.[fuzz]' (Linux x86-64)", file=sys.stderr)
        return 2
    with atheris.instrument_imports(include=["engine", "avin_tui.layout"]):
        from tests.fuzz.targets import TARGETS

        check = TARGETS[args.target]
        import avin_tui.layout  # noqa: F401  (instrumented for coverage)
        import engine.backtest.feed
        import engine.broker.tinvest.convert
        import engine.broker.tinvest.numbers
        import engine.config
        import engine.data.archive
        import engine.data.headered
        import engine.state.workspace  # noqa: F401  (instrumented for coverage)

    corpus = args.corpus or ROOT / "build" / "fuzz" / args.target
    crashes = ROOT / "build" / "fuzz"
    one = check
    atheris.Setup(
        [
            sys.argv[0],
            str(corpus),
            f"-max_total_time={args.seconds}",
            f"-max_len={args.max_len}",
            f"-artifact_prefix={crashes}/crash-{args.target}-",
            "-print_final_stats=1",
            f"-rss_limit_mb={os.environ.get('FUZZ_RSS_MB', '3072')}",
        ],
        one,
    )
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main())
