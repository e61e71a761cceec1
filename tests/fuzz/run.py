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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target")
    parser.add_argument("seconds", nargs="?", type=int, default=60)
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--max-len", type=int, default=4096)
    args = parser.parse_args(argv)
    try:
        import atheris
    except ImportError:
        print("atheris is not installed: pip install -e '.[fuzz]' (Linux x86-64)", file=sys.stderr)
        return 2
    with atheris.instrument_imports(include=["engine"]):
        from tests.fuzz.targets import TARGETS

        check = TARGETS[args.target]
        import engine.backtest.feed
        import engine.broker.tinvest.convert
        import engine.broker.tinvest.numbers
        import engine.config
        import engine.data.archive
        import engine.data.headered
        import engine.state.workspace  # noqa: F401  (instrumented for coverage)

    corpus = args.corpus or ROOT / "build" / "fuzz" / args.target
    _seed(corpus, args.target)
    crashes = ROOT / "build" / "fuzz"
    runs = 0

    def one(data: bytes) -> None:
        nonlocal runs
        runs += 1
        check(data)

    started = time.monotonic()
    # libFuzzer ends the process itself; its final stats and the atexit line below say the rest
    import atexit

    def report() -> None:
        size = sum(1 for p in corpus.iterdir() if p.is_file())
        print(
            f"FUZZ {args.target}: {time.monotonic() - started:.0f} s, {runs} executions, "
            f"corpus {size} inputs",
            flush=True,
        )

    atexit.register(report)
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
