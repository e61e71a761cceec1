"""Benchmark: one instrument-year of 1-minute bars through the data service (Arrow Flight).

Starts ``engine.data.service.DataService`` on loopback (port 0) in this process over a temporary
store and times ``RemoteStore.bars`` (request, server-side ``load_bars``, Arrow IPC over gRPC,
``polars.from_arrow``) against a local ``load_bars`` of the same range measured in the same run,
both with the year file in the loader's in-process cache (so the difference is the transfer) and
cold (cache cleared before every run). Prints rows/s, MB/s of Arrow data and the ratios.
Timings are medians, the remote and local runs interleaved so load elsewhere hits both alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RUNS = 11
DAYS = 250
CODE = "MOEX_SHARE_SBER"
TOKEN = "bench-token-0123456789abcdef"


def timed(action: object) -> float:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - start


def main() -> None:
    global DAYS, RUNS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: only that it runs")
    if parser.parse_args().smoke:  # make bench-smoke
        DAYS, RUNS = 10, 3
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["AVIN_HOME"] = tmp
        from engine.data.loading import clear_cache, load_bars
        from engine.data.remote import RemoteStore
        from engine.data.service import DataService
        from engine.data.store import BarStore
        from engine.data.synthetic import minute_bars, trading_days

        BarStore().merge(CODE, "sim-sber-0001", minute_bars(trading_days(2023, DAYS), seed=1), "b")
        begin, end = datetime(2023, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC)
        service = DataService(TOKEN)
        server = threading.Thread(target=service.serve, daemon=True)
        server.start()
        try:
            with RemoteStore(f"127.0.0.1:{service.port}", TOKEN) as remote:
                bars = remote.bars(CODE, "1M", begin, end)  # warm up both sides
                local_bars = load_bars(CODE, "1M", begin, end)
                assert bars.equals(local_bars), "the service's bars differ from load_bars"
                arrow_mb = local_bars.to_arrow().nbytes / 1e6
                for label, before in (("warm", None), ("cold", clear_cache)):
                    remotes, locals_ = [], []
                    for _ in range(RUNS):
                        if before:
                            before()
                        remotes.append(timed(lambda: remote.bars(CODE, "1M", begin, end)))
                        if before:
                            before()
                        locals_.append(timed(lambda: load_bars(CODE, "1M", begin, end)))
                    far, near = statistics.median(remotes), statistics.median(locals_)
                    print(
                        f"{label}: {bars.height:,} 1M bars ({arrow_mb:.1f} MB Arrow) via Flight "
                        f"{far * 1000:.1f} ms = {bars.height / far / 1e6:.2f} M rows/s, "
                        f"{arrow_mb / far:.0f} MB/s; local load_bars {near * 1000:.1f} ms = "
                        f"{bars.height / near / 1e6:.2f} M rows/s; ratio {far / near:.1f}"
                    )
        finally:
            service.shutdown()
            server.join(timeout=10)


if __name__ == "__main__":
    main()
