"""Baseline: one record at a time through the REST API (create, upload a JPEG, publish).

Starts its own instance (database `specimen_rdm_bench`, same services, gunicorn + Celery as in
the tests), then, with one client thread, deposits N records, each with the ~100 kB herbarium
sheet 19956.jpg (100,875 bytes), and reports records per second for each of several rounds,
their median, and the peak resident memory of the web server (gunicorn master + workers),
sampled every 50 ms. This is the figure the bulk-deposit API must beat.

    python bench/deposit_rest.py [--records 200] [--rounds 3]
"""

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from deposit import Api, create_draft, publish, upload  # noqa: E402
from live_instance import SHARED_DATA, LiveInstance  # noqa: E402

IMAGE = SHARED_DATA / "herbarium" / "sheets" / "img" / "19956.jpg"


class PeakRSS:
    """Samples the summed RSS of a process tree in a background thread."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                processes = [self.root, *self.root.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in processes))
            except psutil.Error:
                pass
            time.sleep(self.interval)

    def __enter__(self) -> "PeakRSS":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def deposit_round(api: Api, records: int, image: bytes, round_no: int) -> float:
    """Deposit `records` records one after the other; records per second."""
    start = time.perf_counter()
    for n in range(records):
        draft = create_draft(api, f"Benchmark sheet {round_no}-{n}")
        upload(api, draft["id"], "19956.jpg", image)
        publish(api, draft["id"])
    return records / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    instance = LiveInstance(name="specimen_rdm_bench")
    print("bench: preparing a fresh instance (database, indices, fixtures)...", flush=True)
    instance.reset()
    instance.setup()
    instance.start()
    try:
        api = Api(instance.url, instance.token("bench@example.org"))
        image = IMAGE.read_bytes()
        web_pid = next(p.pid for name, p in instance.processes if name == "web")
        deposit_round(api, 5, image, 0)  # warm-up: first requests load code and caches
        rates = []
        with PeakRSS(web_pid) as memory:
            for round_no in range(1, args.rounds + 1):
                rate = deposit_round(api, args.records, image, round_no)
                rates.append(rate)
                print(f"bench: round {round_no}: {args.records} records, {rate:.2f} records/s")
        print(
            f"deposit_rest: records/s median {statistics.median(rates):.2f} "
            f"(rounds: {', '.join(f'{r:.2f}' for r in rates)}; {args.records} records each, "
            f"1 client thread, {len(image):,} B JPEG)"
        )
        print(f"deposit_rest: web server peak RSS {memory.peak / 2**20:.0f} MiB")
    finally:
        instance.stop()


if __name__ == "__main__":
    main()
