"""Bulk deposit end to end: `specimen-upload` → published and searchable, against the per-record
REST path measured in the same run.

Starts its own instance (database `specimen_rdm_bench_bulk`; gunicorn with 2 workers, the main
Celery worker, the bulk worker and the niced bulk follow-up worker, as `make run` does; DOIs
registered with the local DataCite test server). Each specimen has Darwin Core values and its
own ~1 MB JPEG (a real herbarium sheet, enlarged, made distinct by a JPEG comment).

1. Baseline: `--baseline` records one at a time through the REST API (create the draft with
   the same Darwin Core values, upload the JPEG in the three-step flow, publish): records/s.
2. Bulk: for each size in `--sizes` (default 1,000 and 10,000): the client uploads a folder of
   images + CSV with `--concurrency` parallel uploads, waits until every job finished (records
   published and indexed), then the search finds all of them. Records/s and MB/s end to end,
   the peak RSS of the web server and of the bulk worker (process trees, every 50 ms), and the
   CPU seconds each part used until then. For runs up to `--followups-up-to` records, also
   the time until the follow-ups (DOI and concept DOI registered, IIIF tiles made) are done.

    python bench/bulk_deposit.py [--sizes 1000,10000] [--baseline 100] [--concurrency 4]
        [--files-per-request 8]   # e.g. 1,8: each size once per value, in the same run
"""

import argparse
import contextlib
import csv
import io
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import psycopg2
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from deposit_rest import PeakRSS  # noqa: E402

from datacite_server import DataCiteTestServer  # noqa: E402
from deposit import Api, darwin_core_record, publish, upload  # noqa: E402
from live_instance import ROOT, SHARED_DATA, VENV_BIN, LiveInstance  # noqa: E402

SHEET = SHARED_DATA / "herbarium" / "sheets" / "img" / "19956.jpg"
WORK = ROOT / "var" / "bench-bulk"


def base_jpeg(target_bytes: int = 1_000_000) -> bytes:
    """A real sheet enlarged until its JPEG is about `target_bytes`."""
    with Image.open(SHEET) as image:
        width, height = image.size
        scale = 1.0
        while True:
            buffer = io.BytesIO()
            size = (int(width * scale), int(height * scale))
            image.convert("RGB").resize(size).save(buffer, format="JPEG", quality=92)
            if buffer.tell() >= target_bytes * 0.95:
                return buffer.getvalue()
            scale *= 1.25


def distinct(jpeg: bytes, tag: str) -> bytes:
    """The same JPEG with a comment segment (after SOI) that makes its bytes unique."""
    text = tag.encode()
    segment = b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text
    return jpeg[:2] + segment + jpeg[2:]


def terms(n: int, run: str) -> dict:
    return {
        "occurrenceID": f"urn:catalog:BENCH:{run}:{n}",
        "institutionCode": "BENCH",
        "catalogNumber": f"{run}-{n}",
        "basisOfRecord": "PreservedSpecimen",
        "scientificName": "Quercus robur L.",
        "countryCode": "DE",
        "eventDate": "1901-06-12",
    }


def write_folder(folder: Path, count: int, run: str, jpeg: bytes) -> int:
    """Images + CSV for `count` specimens; total bytes of the images."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    total = 0
    with open(folder / "specimens.csv", "w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=[*terms(0, run), "file"])
        writer.writeheader()
        for n in range(count):
            data = distinct(jpeg, f"{run}-{n}")
            (folder / f"{run}-{n}.jpg").write_bytes(data)
            total += len(data)
            writer.writerow({**terms(n, run), "file": f"{run}-{n}.jpg"})
    return total


def baseline(api: Api, count: int, jpeg: bytes, run: str = "rest") -> float:
    """Records/s of the one-record-at-a-time REST path (create, upload, publish)."""
    start = time.perf_counter()
    for n in range(count):
        data = darwin_core_record(f"Baseline {run} {n}", **terms(n, run))
        response = api.post("/api/records", json=data)
        assert response.status_code == 201, response.text
        draft = response.json()
        upload(api, draft["id"], f"{run}-{n}.jpg", distinct(jpeg, f"{run}-{n}"))
        publish(api, draft["id"])
    return count / (time.perf_counter() - start)


def searchable(api: Api, run: str) -> int:
    response = api.get(
        "/api/records",
        # A prefix of the catalogue number: the full-text fields split "bulk1000-0" into
        # "bulk", "1000", "0" and catenate "bulk10000", so a phrase would match other runs.
        params={
            "q": f"custom_fields.dwc\\:institutionCode:BENCH AND "
            f"custom_fields.dwc\\:catalogNumber:{run}-*",
            "size": 1,
        },
    )
    return response.json()["hits"]["total"]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children so far."""
    try:
        processes = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def service_pids() -> dict[str, list[int]]:
    """PostgreSQL and OpenSearch processes (shared by every instance)."""
    found = {"postgres": [], "opensearch": []}
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if process.info["name"] == "postgres":
            found["postgres"].append(process.pid)
        elif "opensearch.runner.OpenSearchRunner" in cmdline:
            found["opensearch"].append(process.pid)
    return found


def unsettled(instance: LiveInstance, run: str) -> int:
    """Follow-up work not done yet for the run's records: reserved (unregistered) DOIs and
    IIIF tiles not finished."""
    url = instance.env["INVENIO_SQLALCHEMY_DATABASE_URI"].replace(
        "postgresql+psycopg2", "postgresql"
    )
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT (SELECT count(*) FROM pidstore_pid p JOIN rdm_records_metadata r
                      ON p.object_uuid = r.id
                    WHERE p.pid_type = 'doi' AND p.status = 'K'
                      AND r.json->'custom_fields'->>'dwc:catalogNumber' LIKE %(run)s)
                 + (SELECT count(*) FROM rdm_records_media_files m JOIN rdm_records_metadata r
                      ON m.record_id = r.id
                    WHERE m.json->'processor'->>'status' <> 'finished'
                      AND r.json->'custom_fields'->>'dwc:catalogNumber' LIKE %(run)s)
            """,
            {"run": f"{run}-%"},
        )
        return cursor.fetchone()[0]


def bulk(
    instance: LiveInstance,
    token: str,
    count: int,
    jpeg: bytes,
    concurrency: int,
    files_per_request: int = 8,
) -> dict:
    """Upload `count` specimens with the client; figures of the run."""
    run = f"bulk{count}f{files_per_request}"
    folder = WORK / run
    total_bytes = write_folder(folder, count, run, jpeg)
    journal = WORK / f"{run}.sqlite"
    journal.unlink(missing_ok=True)
    api = Api(instance.url, token)
    pids = {name: p.pid for name, p in instance.processes}
    command = [
        str(VENV_BIN / "specimen-upload"), "--url", instance.url, "--token", token,
        "--concurrency", str(concurrency), "--files-per-request", str(files_per_request),
        "--journal", str(journal), str(folder),
    ]  # fmt: skip
    services = service_pids()
    cpu_pids = {
        "web": [pids["web"]],
        "main worker": [pids["worker"]],
        "bulk worker": [pids["bulk-worker"]],
        "follow-up worker": [pids["bulk-followup-worker"]],
        **services,
    }

    def cpu() -> dict[str, float]:
        return {name: sum(cpu_seconds(pid) for pid in group) for name, group in cpu_pids.items()}

    with PeakRSS(pids["web"]) as web, PeakRSS(pids["bulk-worker"]) as worker:
        cpu_before = cpu()
        start = time.perf_counter()
        output = open(WORK / f"{run}.log", "w+")  # noqa: SIM115 (read back below)
        client = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, text=True)
        client_cpu = 0.0
        with contextlib.suppress(psutil.Error):
            while client.poll() is None:
                client_cpu = cpu_seconds(client.pid)
                time.sleep(0.5)
        client.wait()
        output.seek(0)
        stdout, stderr = output.read(), ""
        output.close()
        client_done = time.perf_counter()
        while searchable(api, run) < count and time.perf_counter() - client_done < 120:
            time.sleep(0.5)
        elapsed = time.perf_counter() - start
        cpu_used = {k: v - cpu_before[k] for k, v in cpu().items()}
        cpu_used["client"] = client_cpu
    result = subprocess.CompletedProcess(command, client.returncode, stdout, stderr)
    found = searchable(api, run)
    if result.returncode != 0 or found != count:
        print(result.stdout[-3000:], result.stderr[-3000:])
        raise SystemExit(
            f"bench: bulk run of {count} failed (exit {result.returncode}, found {found})"
        )
    shutil.rmtree(folder, ignore_errors=True)
    return {
        "count": count,
        "seconds": elapsed,
        "records_per_s": count / elapsed,
        "mb_per_s": total_bytes / 1e6 / elapsed,
        "mb": total_bytes / 1e6,
        "web_rss": web.peak / 2**20,
        "worker_rss": worker.peak / 2**20,
        "cpu": cpu_used,
        "start": start,
        "run": run,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="bulk run sizes, comma-separated")
    parser.add_argument("--baseline", type=int, default=100, help="records of the REST baseline")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--files-per-request",
        default="8",
        help="the client's --files-per-request; several (comma-separated): one run each per size",
    )
    parser.add_argument(
        "--followups-up-to",
        type=int,
        default=1000,
        help="wait for the follow-ups (DOI registration, IIIF tiles) of runs up to this size",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    datacite = DataCiteTestServer("SPECIMEN.BENCH", "datacite-secret", "10.80000").start()
    instance = LiveInstance(
        name="specimen_rdm_bench_bulk",
        extra_env={
            "INVENIO_SPECIMEN_BULK_RATE_LIMIT": "(100000, 60)",
            # DOIs are registered with a local server that speaks DataCite's REST API.
            "INVENIO_DATACITE_USERNAME": "SPECIMEN.BENCH",
            "INVENIO_DATACITE_PASSWORD": "datacite-secret",
            "INVENIO_DATACITE_PREFIX": "10.80000",
            "INVENIO_DATACITE_URL": datacite.url,
        },
    )
    print("bench: preparing a fresh instance (database, indices, fixtures)...", flush=True)
    instance.reset()
    instance.setup()
    instance.start()
    try:
        token = instance.token("bench@example.org")
        api = Api(instance.url, token)
        jpeg = base_jpeg()
        print(
            f"bench: images of {len(jpeg):,} B (19956.jpg enlarged), one per specimen", flush=True
        )
        baseline(api, 3, jpeg, run="warm-up")
        rest = baseline(api, args.baseline, jpeg)
        print(
            f"bulk_deposit: per-record REST baseline {rest:.2f} records/s ({args.baseline} records)"
        )
        runs = [(size, int(f)) for size in sizes for f in args.files_per_request.split(",")]
        for size, files_per_request in runs:
            figures = bulk(instance, token, size, jpeg, args.concurrency, files_per_request)
            print(
                f"bulk_deposit: {size} specimens ({files_per_request} files per upload request) "
                f"in {figures['seconds']:.0f} s: "
                f"{figures['records_per_s']:.2f} records/s, {figures['mb_per_s']:.2f} MB/s "
                f"({figures['mb']:.0f} MB), {figures['records_per_s'] / rest:.1f}x the REST "
                f"baseline; peak RSS web {figures['web_rss']:.0f} MiB, bulk worker "
                f"{figures['worker_rss']:.0f} MiB",
                flush=True,
            )
            shares = ", ".join(f"{k} {v:.0f}" for k, v in figures["cpu"].items())
            print(f"bulk_deposit: CPU seconds until searchable: {shares}", flush=True)
            if size > args.followups_up_to:
                continue
            while unsettled(instance, figures["run"]):
                if time.perf_counter() - figures["start"] > 3600:
                    print("bulk_deposit: follow-ups not done after an hour", flush=True)
                    break
                time.sleep(2)
            else:
                print(
                    "bulk_deposit: follow-ups (DOI + concept DOI registered with the DataCite "
                    "test server, IIIF tiles made) done "
                    f"{time.perf_counter() - figures['start']:.0f} s after the client started",
                    flush=True,
                )
    finally:
        instance.stop()
        datacite.stop()
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
