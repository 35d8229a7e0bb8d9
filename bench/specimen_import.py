"""Darwin Core Archive import throughput: published and indexed specimen records per second.

Starts its own instance (database `specimen_rdm_bench_import`, gunicorn + Celery as in the
tests), generates archives of N rows (default 5,000), each row with its own small JPEG inside the
archive, uploads each through `POST /api/specimens/imports`, and measures the time until the job
has finished and every created record is found by the search API. Prints records/s per round,
the median, and the peak RSS of the Celery worker (which runs the import) and the web server.

    python bench/specimen_import.py [--rows 5000] [--rounds 3]
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from deposit_rest import PeakRSS  # noqa: E402
from generated_specimens import write_archive_with_images  # noqa: E402

from deposit import Api, wait_for  # noqa: E402
from live_instance import LiveInstance  # noqa: E402


def import_round(api: Api, archive: Path, rows: int, first: int) -> tuple[float, dict]:
    """Import one archive; records/s until all created records are searchable, and counts."""
    start = time.perf_counter()
    with archive.open("rb") as stream:
        response = api.post("/api/specimens/imports", files={"file": (archive.name, stream)})
    response.raise_for_status()
    job_id = response.json()["id"]

    def finished():
        body = api.get(f"/api/specimens/imports/{job_id}").json()
        return body if body["state"] in ("finished", "failed") else None

    job = wait_for(finished, timeout=6 * 3600, interval=2, what="the import")
    created = job["counts"]["created"]
    query = f"institutionCode:BENCH AND catalogNumber:[BENCH{first:08d} TO BENCH{first + rows:08d}]"

    def indexed():
        total = api.get("/api/records", params={"q": query, "size": 1}).json()["hits"]["total"]
        return total >= created

    wait_for(indexed, timeout=600, interval=1, what="the records in search")
    return created / (time.perf_counter() - start), job


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    instance = LiveInstance(name="specimen_rdm_bench_import")
    print("bench: preparing a fresh instance (database, indices, fixtures)...", flush=True)
    instance.reset()
    instance.setup()
    instance.start()
    try:
        api = Api(instance.url, instance.token("bench@example.org"))
        pids = {name: process.pid for name, process in instance.processes}
        rates = []
        with (
            tempfile.TemporaryDirectory() as folder,
            PeakRSS(pids["worker"]) as worker_memory,
            PeakRSS(pids["web"]) as web_memory,
        ):
            for round_no in range(1, args.rounds + 1):
                first = round_no * 10_000_000
                archive = Path(folder) / f"bench-{round_no}.zip"
                write_archive_with_images(archive, args.rows, seed=round_no, start=first)
                rate, job = import_round(api, archive, args.rows, first)
                rates.append(rate)
                counts = job["counts"]
                print(
                    f"bench: round {round_no}: {counts['created']} created "
                    f"({counts['flagged']} flagged), {counts['rejected']} rejected, "
                    f"{rate:.2f} records/s",
                    flush=True,
                )
        print(
            f"specimen_import: records/s median {statistics.median(rates):.2f} published and "
            f"indexed (rounds: {', '.join(f'{r:.2f}' for r in rates)}; {args.rows} rows with "
            "one JPEG each per round, Celery concurrency 2)"
        )
        print(
            f"specimen_import: peak RSS worker {worker_memory.peak / 2**20:.0f} MiB, "
            f"web {web_memory.peak / 2**20:.0f} MiB"
        )
    finally:
        instance.stop()


if __name__ == "__main__":
    main()
