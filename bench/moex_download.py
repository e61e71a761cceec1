"""Benchmark: download 1-minute bars from the local ISS-shaped server into the store.

Serves ``DAYS`` weekdays of generated SBER minutes (two sessions, 10% of the minutes without
trades) from ``engine.data.moex.fake`` on 127.0.0.1 and runs ``fetch_bars`` into a temporary
store, twice: without the polite pause between requests (the client's and the store's own
speed) and with the default pause (``IssPolicy.min_interval``, what a user gets). Prints bars/s
and pages/s, and the floor measured in the same run: the same pages fetched with a bare
``httpx.AsyncClient`` and decoded with ``json.loads``, nothing converted or stored.

``python bench/moex_download.py [DAYS] [--smoke]`` (default 20: about 14,500 bars, 33 pages;
--smoke: 2 days).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


async def floor(base_url: str, queries: list[dict[str, str]]) -> tuple[float, int]:
    """Seconds and rows to GET and decode the same pages with a bare client."""
    import httpx

    path = "/iss/engines/stock/markets/shares/boards/TQBR/securities/SBER/candles.json"
    rows = 0
    start = time.perf_counter()
    async with httpx.AsyncClient(trust_env=False) as client:
        for query in queries:
            answer = await client.get(base_url + path, params=query)
            rows += len(json.loads(answer.content)["candles"]["data"])
    return time.perf_counter() - start, rows


async def run(days: int, min_interval: float, root: Path) -> tuple[float, int, int, list]:
    from engine.data.moex import fake
    from engine.data.moex.client import IssClient, IssPolicy
    from engine.data.moex.source import MoexSource
    from engine.data.sources.fetch import fetch_bars

    server = fake.FakeIss()
    weekdays = fake.weekdays(date(2024, 6, 28), days)
    server.add(fake.SBER, fake.generate_minutes(fake.SBER, weekdays, seed=1))
    with fake.serve(server):
        client = IssClient(server.base_url, policy=IssPolicy(min_interval=min_interval))
        source = MoexSource(client)
        start = time.perf_counter()
        [result] = await fetch_bars(
            source, ["SBER"], since=weekdays[0], until=weekdays[-1], root=root / "bars",
            folder=root / "downloads", now=datetime(2024, 7, 1, tzinfo=UTC),
        )  # fmt: skip
        seconds = time.perf_counter() - start
        await source.close()
        assert not result.error, result.error
        queries = [
            {k: v for k, v in q.items() if not k.startswith("iss.")}
            for p, q in server.requests
            if p.endswith("candles.json")
        ]
        bare, rows = await floor(server.base_url, queries)
        return seconds, result.bars, client.pages, [bare, rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("days", nargs="?", type=int, default=20, help="weekdays served")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: only that it runs")
    args = parser.parse_args()
    days = 2 if args.smoke else args.days  # make bench-smoke
    from engine.data.moex.client import IssPolicy

    polite = IssPolicy().min_interval
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["AVIN_HOME"] = tmp
        for label, pause in (("no pause", 0.0), (f"polite ({polite:g} s pause)", polite)):
            root = Path(tmp) / label.split()[0]
            seconds, bars, pages, (bare, rows) = asyncio.run(run(days, pause, root))
            print(
                f"{label:>24}: {bars:,} bars, {pages} pages in {seconds:.2f} s = "
                f"{bars / seconds:,.0f} bars/s, {pages / seconds:.1f} pages/s; bare GET+decode "
                f"of the same pages {bare:.2f} s ({rows / bare:,.0f} rows/s), "
                f"ratio {seconds / bare:.1f}"
            )


if __name__ == "__main__":
    main()
