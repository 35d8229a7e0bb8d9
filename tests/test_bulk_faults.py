"""Bulk deposit under faults: 2,000 specimens uploaded by `specimen-upload` while the client is
killed and resumed, a proxy answers 502/504 and drops connections, the web server is killed and
restarted, and the bulk worker is killed and restarted. Afterwards every record exists exactly
once, every stored file matches its checksum, and the server's reconciliation list, the client's
report and the database agree, with nothing left pending. Meanwhile another user's small batch
and an interactive deposit go through (fair queueing), and the rate limit answers 429.
"""

import csv
import hashlib
import os
import subprocess
import time
import uuid
from urllib.parse import urlparse

import pytest
import requests
from bulk_data import tiny_jpeg
from fault_proxy import FaultProxy
from test_bulk_deposit import outcomes, specimen_line, submit, wait_finished

from deposit import Api, publish_sheet
from live_instance import VENV_BIN

RECORDS = int(os.environ.get("SPECIMEN_FAULT_RECORDS", "2000"))


def journal_count(journal, query: str) -> int:
    import sqlite3

    if not journal.exists():
        return 0
    try:
        with sqlite3.connect(journal, timeout=5) as db:
            return db.execute(query).fetchone()[0]
    except sqlite3.Error:
        return 0


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def wait_web(live) -> None:
    wait_until(
        lambda: _answers(f"{live.url}/api/records"), timeout=180, what="the web server to answer"
    )


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=10).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    tag = uuid.uuid4().hex[:8]
    path = tmp_path_factory.mktemp("faults") / "sheets"
    path.mkdir()
    digests = {}
    with open(path / "specimens.csv", "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["occurrenceID", "institutionCode", "catalogNumber", "scientificName",
                         "countryCode", "eventDate", "file"])  # fmt: skip
        for n in range(RECORDS):
            data = tiny_jpeg(n) + tag.encode()  # trailing bytes after EOI: still a valid JPEG
            (path / f"{n}.jpg").write_bytes(data)
            digests[f"{tag}-{n}"] = (
                hashlib.md5(data).hexdigest(),
                hashlib.sha256(data).hexdigest(),
            )
            writer.writerow([f"urn:fault:{tag}:{n}", "FAULT", f"{tag}-{n}", "Fagus sylvatica L.",
                             "BE", "1950-05-01", f"{n}.jpg"])  # fmt: skip
    return {"path": path, "tag": tag, "digests": digests}


@pytest.mark.timeout(3600)
def test_bulk_upload_survives_faults(live, folder, tmp_path):
    tag = folder["tag"]
    email = f"bulk-faults-{tag}@example.org"
    token = live.token(email)
    proxy = FaultProxy(live.web_port)
    journal = tmp_path / "journal.sqlite"
    report = tmp_path / "report.csv"
    command = [
        str(VENV_BIN / "specimen-upload"), "--url", proxy.url, "--token", token,
        "--concurrency", "4", "--max-retries", "40", "--journal", str(journal),
        "--report", str(report), str(folder["path"]),
    ]  # fmt: skip
    log = open(tmp_path / "client.log", "a")  # noqa: SIM115 (kept open for two processes)

    def start_client():
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

    def uploaded() -> int:
        return journal_count(journal, "SELECT count(*) FROM files WHERE uploaded = 1")

    def processed() -> int:
        rows = live.sql(
            "SELECT count(*) FROM specimen_bulk_item i JOIN accounts_user u "
            f"ON u.id = i.owner_id WHERE u.email = '{email}' "
            "AND i.state NOT IN ('pending', 'processing')"
        )
        return int(rows[0][0])

    try:
        # 1. The client is killed once a quarter of the files went up (it is resumed in 2).
        client = start_client()
        wait_until(lambda: uploaded() >= RECORDS // 4, 600, "a quarter of the uploads")
        client.kill()
        client.wait()
        killed_at = uploaded()

        # 2. Meanwhile another bulk client and an interactive depositor are served: the small
        #    job finishes while the big one runs (its chains busy with the records whose files
        #    are there; three quarters of its files are still to come, so it cannot finish
        #    first however fast it is processed). Then the client is resumed.
        other = Api(live.url, live.token("bulk-neighbour@example.org"))
        small = submit(other, [specimen_line(f"{tag}-n{n}", f"{tag}-n{n}") for n in range(5)])
        assert small.status_code == 202, small.text
        interactive_start = time.monotonic()
        publish_sheet(Api(live.url, token), f"Interactive deposit {tag}", {"s.jpg": tiny_jpeg(-1)})
        interactive_seconds = time.monotonic() - interactive_start
        small_job = wait_finished(other, small.json()["id"], timeout=300)
        assert small_job["counts"]["published"] == 5
        big_job_unfinished = processed() < RECORDS
        client = start_client()

        # 3. The bulk worker is killed while processing. It stays down through steps 4 and 5,
        #    so the job cannot finish before the client has met them, however fast it runs.
        wait_until(lambda: processed() >= RECORDS // 3, 1800, "a third of the records")
        live.kill("bulk-worker")
        processed_at_kill = processed()

        # 4. The proxy fails: 502, 504, dropped connections, each until the client met it
        #    (uploading or asking for the job's state; it retries with backoff).
        for mode in ("502", "504", "drop"):
            proxy.mode(mode)
            wait_until(lambda m=mode: proxy.counts[m] > 0, 120, f"the client meeting {mode}")
        proxy.mode("pass")

        # 5. The web server is killed and restarted.
        live.kill("web")
        time.sleep(3)
        live.restart("web")
        wait_web(live)

        # 6. The bulk worker comes back: the claims of the killed one are taken up again after
        #    the claim timeout, the rest of the job goes on, the waiting client sees it finish.
        live.restart("bulk-worker")

        exit_code = client.wait(timeout=3600)
    finally:
        proxy.close()
        log.close()
    client_log = (tmp_path / "client.log").read_text()
    assert exit_code == 0, client_log[-5000:]
    assert killed_at < RECORDS
    assert big_job_unfinished, "the small job should finish while the big one still runs"
    assert processed_at_kill < RECORDS, "the bulk worker should be killed while processing"
    assert interactive_seconds < 60
    assert sum(proxy.counts[m] for m in ("502", "504", "drop")) > 0
    assert "retried requests:" in client_log

    # Every record exists exactly once, published, with its file and checksums.
    rows = live.sql(
        "SELECT r.json->>'id', r.json->'custom_fields'->>'dwc:catalogNumber', f.checksum, "
        "f.uri, f.size, r.json->'custom_fields'->'specimen:quality'->'image_sha256'->>0 "
        "FROM rdm_records_metadata r JOIN rdm_records_files rf ON rf.record_id = r.id "
        "JOIN files_object o ON o.version_id = rf.object_version_id "
        "JOIN files_files f ON f.id = o.file_id "
        f"WHERE r.json->'custom_fields'->>'dwc:institutionCode' = 'FAULT' "
        f"AND r.json->'custom_fields'->>'dwc:catalogNumber' LIKE '{tag}-%'",
    )
    catalogues = [row[1] for row in rows]
    assert len(catalogues) == RECORDS == len(set(catalogues))
    record_of = {}
    for record_id, catalogue, checksum, uri, size, sha256 in rows:
        md5, expected_sha256 = folder["digests"][catalogue]
        assert checksum == f"md5:{md5}" and sha256 == expected_sha256
        stored = open(urlparse(uri).path, "rb").read()  # noqa: SIM115
        assert hashlib.sha256(stored).hexdigest() == expected_sha256 and len(stored) == int(size)
        record_of[catalogue] = record_id
    leftover_drafts = live.sql(
        "SELECT count(*) FROM rdm_drafts_metadata WHERE json IS NOT NULL AND "
        f"json->'custom_fields'->>'dwc:catalogNumber' LIKE '{tag}-%' "
        f"AND json->'custom_fields'->>'dwc:institutionCode' = 'FAULT'",
    )
    assert leftover_drafts == [["0"]]
    run = live.sql(
        "SELECT r.status, r.inserted_entries, r.errored_entries FROM jobs_run r "
        "JOIN specimen_bulk_job j ON j.run_id = r.id WHERE j.id = (SELECT id FROM "
        "specimen_bulk_job j2 WHERE j2.owner_id = (SELECT id FROM accounts_user WHERE "
        f"email = '{email}'))"
    )
    assert run == [["S", str(RECORDS), "0"]]  # RunStatusEnum.SUCCESS

    # The server's list, the client's report and the database agree; nothing is pending.
    api = Api(live.url, token)
    job_ids = [
        row[0]
        for row in live.sql(
            "SELECT j.id FROM specimen_bulk_job j JOIN accounts_user u ON u.id = j.owner_id "
            f"WHERE u.email = '{email}'"
        )
    ]
    assert len(job_ids) == 1  # the resumed client reused the batch's Idempotency-Key
    server = outcomes(api, job_ids[0])
    client_report = list(csv.DictReader(report.read_text().splitlines()))
    assert len(server) == len(client_report) == RECORDS
    for row in client_report:
        catalogue = row["key"].rsplit(":", 1)[-1]
        expected = record_of[f"{tag}-{catalogue}"]
        assert row["state"] == server[row["key"]]["state"] == "published"
        assert row["record_id"] == server[row["key"]]["record_id"] == expected
        assert row["doi"] and row["doi"] == server[row["key"]]["doi"]
    pending = live.sql("SELECT count(*) FROM specimen_bulk_item i JOIN accounts_user u ON "
                        f"u.id = i.owner_id WHERE u.email = '{email}' AND i.state IN "
                        "('pending', 'processing')")  # fmt: skip
    assert pending == [["0"]]
    # All searchable: the tag is in the titles of the 2,000, the 5 neighbour records and the
    # interactive deposit.
    expected, hits = RECORDS + 5 + 1, 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and hits != expected:
        hits = api.get("/api/records", params={"q": f'"{tag}"', "size": 1}).json()["hits"]["total"]
        time.sleep(1)
    assert hits == expected


def test_rate_limit_answers_429_with_retry_after(live):
    live.extra_env["INVENIO_SPECIMEN_BULK_RATE_LIMIT"] = "(20, 60)"
    try:
        live.kill("web")
        live.restart("web")
        wait_web(live)
        api = Api(live.url, live.token(f"bulk-limited-{uuid.uuid4().hex[:6]}@example.org"))
        statuses = []
        for _ in range(100):
            response = api.get(f"/api/bulk/files/{'0' * 64}")
            statuses.append(response.status_code)
            if response.status_code == 429:
                break
        assert statuses[-1] == 429, statuses
        assert statuses.count(404) >= 20 - 1  # the allowed requests went through (no upload: 404)
        assert 1 <= int(response.headers["Retry-After"]) <= 60
        assert "Too many bulk requests" in response.json()["message"]
        assert Api(live.url).get("/api/records").status_code == 200  # others are not limited
    finally:
        del live.extra_env["INVENIO_SPECIMEN_BULK_RATE_LIMIT"]
        live.kill("web")
        live.restart("web")
        wait_web(live)
