"""Bulk deposit end to end: batches, part uploads, processing on the bulk queue, reconciliation,
idempotency keys, structural 400s, upload checks, and the `specimen-upload` client."""

import csv
import hashlib
import json
import subprocess
import time
import uuid

import pytest
from bulk_data import distinct_sheet, sha256, specimen_line, tiny_jpeg

from deposit import Api
from live_instance import VENV_BIN

MIN_PART = 64 * 1024


def ndjson(lines) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def submit(api: Api, lines, token=None, **params):
    headers = {"Content-Type": "application/x-ndjson"}
    if token:
        headers["Idempotency-Key"] = token
    return api.post("/api/bulk/jobs", data=ndjson(lines), headers=headers, params=params)


def upload(api: Api, data: bytes, part_size: int = MIN_PART) -> dict:
    digest = sha256(data)
    state = api.post(
        "/api/bulk/files", json={"sha256": digest, "size": len(data), "part_size": part_size}
    )
    assert state.status_code == 200, state.text
    state = state.json()
    for number in range(1, state["parts_total"] + 1):
        if number in state["parts_received"]:
            continue
        part = data[(number - 1) * part_size : number * part_size]
        response = api.put(
            f"/api/bulk/files/{digest}/parts/{number}",
            data=part,
            headers={"X-Part-SHA256": hashlib.sha256(part).hexdigest()},
        )
        assert response.status_code == 200, response.text
    response = api.post(f"/api/bulk/files/{digest}/complete")
    assert response.status_code == 200, response.text
    assert response.json()["complete"] is True
    return response.json()


def wait_finished(api: Api, job_id: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = api.get(f"/api/bulk/jobs/{job_id}").json()
        if job["state"] == "finished":
            return job
        time.sleep(1)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def outcomes(api: Api, job_id: str) -> dict[str, dict]:
    response = api.get(f"/api/bulk/jobs/{job_id}/records", params={"format": "json"})
    assert response.status_code == 200, response.text
    return {row["key"]: row for row in response.json()["records"]}


@pytest.fixture(scope="module")
def tag():
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def published_batch(depositor, tag):
    """A batch of four: two with sheets (multi-part uploads), one without files, one malformed."""
    sheet_a = distinct_sheet("19956", f"bulk {tag} a")
    sheet_b = distinct_sheet("103272", f"bulk {tag} b")
    lines = [
        specimen_line(f"{tag}-1", f"{tag}-1", [("sheet.jpg", sheet_a)]),
        specimen_line(f"{tag}-2", f"{tag}-2", [("sheet.jpg", sheet_b)], recordedBy="A. Kerner"),
        specimen_line(f"{tag}-3", f"{tag}-3"),
        specimen_line(f"{tag}-4", f"{tag}-4", minimumElevationInMeters="~ 1800"),
    ]
    response = submit(depositor, lines, token=f"batch-{tag}")
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["counts"]["total"] == 4 and job["counts"]["pending"] == 4
    for data in (sheet_a, sheet_b):
        upload(depositor, data)
    assert depositor.post(f"/api/bulk/jobs/{job['id']}/close").status_code == 200
    finished = wait_finished(depositor, job["id"])
    return {"lines": lines, "job": finished, "sheets": (sheet_a, sheet_b)}


def test_batch_is_published_with_files_and_dois(depositor, published_batch, tag):
    job = published_batch["job"]
    assert job["counts"]["published"] == 3
    assert job["counts"]["rejected"] == 1
    assert job["progress"] == 1.0
    rows = outcomes(depositor, job["id"])
    for key in (f"{tag}-1", f"{tag}-2", f"{tag}-3"):
        assert rows[key]["state"] == "published"
        assert rows[key]["record_id"] and rows[key]["doi"].startswith("10.80000/")
    rejected = rows[f"{tag}-4"]
    assert rejected["state"] == "rejected" and rejected["record_id"] is None
    assert any("minimumElevationInMeters" in reason for reason in rejected["reasons"])

    record = depositor.get(f"/api/records/{rows[f'{tag}-1']['record_id']}").json()
    assert record["custom_fields"]["dwc:catalogNumber"] == f"{tag}-1"
    assert record["pids"]["doi"]["identifier"] == rows[f"{tag}-1"]["doi"]
    sheet_a = published_batch["sheets"][0]
    assert record["custom_fields"]["specimen:quality"]["image_sha256"] == [sha256(sheet_a)]
    files = depositor.get(f"/api/records/{record['id']}/files").json()["entries"]
    assert [(f["key"], f["size"]) for f in files] == [("sheet.jpg", len(sheet_a))]
    assert files[0]["checksum"] == "md5:" + hashlib.md5(sheet_a).hexdigest()
    content = depositor.get(f"/api/records/{record['id']}/files/sheet.jpg/content")
    assert content.content == sheet_a
    # The finished job released its uploads (the records keep their own links to the bytes).
    deadline = time.monotonic() + 30
    uploads = [depositor.get(f"/api/bulk/files/{sha256(s)}") for s in published_batch["sheets"]]
    while any(u.status_code != 404 for u in uploads) and time.monotonic() < deadline:
        time.sleep(0.5)
        uploads = [depositor.get(f"/api/bulk/files/{sha256(s)}") for s in published_batch["sheets"]]
    assert [u.status_code for u in uploads] == [404, 404]
    assert depositor.get(f"/api/records/{record['id']}/files/sheet.jpg/content").content == sheet_a
    no_files = depositor.get(f"/api/records/{rows[f'{tag}-3']['record_id']}").json()
    assert no_files["files"]["enabled"] is False


def test_published_records_are_searchable(depositor, published_batch, tag):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        hits = depositor.get("/api/records", params={"q": f'"{tag}"', "size": 10}).json()
        if hits["hits"]["total"] == 3:
            break
        time.sleep(1)
    assert hits["hits"]["total"] == 3


def test_reconciliation_pages_filters_and_csv(depositor, published_batch, tag):
    job_id = published_batch["job"]["id"]
    first = depositor.get(f"/api/bulk/jobs/{job_id}/records", params={"size": 2}).json()
    assert first["hits"]["total"] == 4 and len(first["hits"]["hits"]) == 2
    second = depositor.get(first["links"]["next"]).json()
    keys = [h["key"] for h in first["hits"]["hits"] + second["hits"]["hits"]]
    assert keys == [f"{tag}-{n}" for n in range(1, 5)]
    rejected = depositor.get(f"/api/bulk/jobs/{job_id}/records", params={"state": "rejected"})
    assert [h["key"] for h in rejected.json()["hits"]["hits"]] == [f"{tag}-4"]
    response = depositor.get(f"/api/bulk/jobs/{job_id}/records", params={"format": "csv"})
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(response.text.splitlines()))
    assert [r["state"] for r in rows] == ["published", "published", "published", "rejected"]


def test_same_keys_never_create_a_second_record(depositor, published_batch, tag):
    lines = published_batch["lines"]
    again = submit(depositor, lines, token=f"batch-{tag}")
    assert again.status_code == 200 and again.json()["id"] == published_batch["job"]["id"]

    changed = [dict(lines[0]), lines[1], lines[2]]
    changed[0]["dwc"] = {**lines[0]["dwc"], "recordedBy": "Someone Else"}
    response = submit(depositor, changed)
    assert response.status_code == 202, response.text
    job = wait_finished(depositor, response.json()["id"], timeout=60)
    assert job["counts"]["existing"] == 3 and job["counts"]["conflicts"] == 1
    first = outcomes(depositor, published_batch["job"]["id"])
    second = outcomes(depositor, job["id"])
    for key in (f"{tag}-1", f"{tag}-2", f"{tag}-3"):
        assert second[key]["record_id"] == first[key]["record_id"]
        assert second[key]["existing"] is True
    assert second[f"{tag}-1"]["conflict"] is True and second[f"{tag}-2"]["conflict"] is False
    hits = depositor.get("/api/records", params={"q": f'"{tag}-1"'}).json()
    assert hits["hits"]["total"] == 1


def test_structural_problems_are_a_400_naming_line_and_field(depositor, tag):
    good = specimen_line(f"{tag}-s1", f"{tag}-s1")
    bad_digest = specimen_line(f"{tag}-s2", f"{tag}-s2")
    bad_digest["files"] = [{"key": "a.jpg", "size": 10, "sha256": "xyz"}]
    no_id = {k: v for k, v in good.items() if k != "id"}
    body = ndjson([good, bad_digest, no_id, good]) + b"{not json\n"
    response = depositor.post(
        "/api/bulk/jobs", data=body, headers={"Content-Type": "application/x-ndjson"}
    )
    assert response.status_code == 400
    errors = {(e["line"], e["field"]) for e in response.json()["errors"]}
    assert errors == {(2, "files.0.sha256"), (3, "id"), (4, "id"), (5, "")}
    assert "nothing was created" in response.json()["message"]
    dry = submit(depositor, [good], dry_run="true").json()
    assert dry["records"][0]["outcome"] == "valid"  # the key was not taken by the failed batch


def test_dry_run_reports_without_creating(depositor, published_batch, tag):
    lines = [
        specimen_line(f"{tag}-d1", f"{tag}-d1"),
        specimen_line(f"{tag}-d2", f"{tag}-d2", minimumElevationInMeters="~ 1800"),
        published_batch["lines"][0],
        specimen_line(f"{tag}-d4", f"{tag}-2"),  # same catalogue number as a published record
    ]
    verdict = submit(depositor, lines, dry_run="true")
    assert verdict.status_code == 200, verdict.text
    results = {r["key"]: r for r in verdict.json()["records"]}
    assert results[f"{tag}-d1"]["outcome"] == "valid"
    assert results[f"{tag}-d2"]["outcome"] == "rejected"
    assert results[f"{tag}-1"]["outcome"] == "existing"
    assert results[f"{tag}-d4"]["outcome"] == "duplicate"
    again = submit(depositor, lines[:1], dry_run="true").json()
    assert again["records"][0]["outcome"] == "valid"


def test_uploads_check_every_part_and_resume(depositor, tag):
    data = distinct_sheet("12406", f"upload {tag}")
    digest = sha256(data)
    state = depositor.post(
        "/api/bulk/files", json={"sha256": digest, "size": len(data), "part_size": MIN_PART}
    ).json()
    assert state["parts_total"] == -(-len(data) // MIN_PART) and state["parts_received"] == []
    part1 = data[:MIN_PART]
    wrong = depositor.put(
        f"/api/bulk/files/{digest}/parts/1",
        data=part1,
        headers={"X-Part-SHA256": hashlib.sha256(b"other").hexdigest()},
    )
    assert wrong.status_code == 422 and "X-Part-SHA256" in wrong.text
    short = depositor.put(
        f"/api/bulk/files/{digest}/parts/1",
        data=part1[:100],
        headers={"X-Part-SHA256": hashlib.sha256(part1[:100]).hexdigest()},
    )
    assert short.status_code == 400 and "must have" in short.json()["message"]
    good = depositor.put(
        f"/api/bulk/files/{digest}/parts/1",
        data=part1,
        headers={"X-Part-SHA256": hashlib.sha256(part1).hexdigest()},
    )
    assert good.json()["parts_received"] == [1]
    incomplete = depositor.post(f"/api/bulk/files/{digest}/complete")
    assert incomplete.status_code == 409 and "missing" in incomplete.json()["message"]
    resumed = depositor.get(f"/api/bulk/files/{digest}").json()
    assert resumed["parts_received"] == [1] and resumed["complete"] is False
    finished = upload(depositor, data)
    assert finished["complete"] is True
    conflict = depositor.post("/api/bulk/files", json={"sha256": digest, "size": len(data) + 1})
    assert conflict.status_code == 409


def test_a_file_whose_parts_do_not_match_its_checksum_is_refused(depositor, tag):
    data = tiny_jpeg(hash(tag) % 10_000)
    claimed = sha256(data + b"x")
    depositor.post("/api/bulk/files", json={"sha256": claimed, "size": len(data)})
    depositor.put(
        f"/api/bulk/files/{claimed}/parts/1",
        data=data,
        headers={"X-Part-SHA256": sha256(data)},
    )
    response = depositor.post(f"/api/bulk/files/{claimed}/complete")
    assert response.status_code == 422
    assert depositor.get(f"/api/bulk/files/{claimed}").json()["parts_received"] == []


def test_jobs_belong_to_their_owner(live, published_batch, anonymous):
    job_id = published_batch["job"]["id"]
    assert anonymous.get(f"/api/bulk/jobs/{job_id}").status_code == 401
    other = Api(live.url, live.token("bulk-other@example.org"))
    assert other.get(f"/api/bulk/jobs/{job_id}").status_code == 404


def test_client_uploads_a_folder_and_reconciles(live, tmp_path, tag):
    token = live.token("bulk-client@example.org")
    folder = tmp_path / "sheets"
    folder.mkdir()
    rows = []
    for n in range(12):
        name = f"{tag}-c{n}.jpg"
        (folder / name).write_bytes(tiny_jpeg(n * 7919 + len(tag)) + tag.encode())
        rows.append(
            {
                "catalogNumber": f"{tag}-c{n}",
                "institutionCode": "TEST",
                "scientificName": "Fagus sylvatica L.",
                "countryCode": "BE",
                "eventDate": "1955-05-0" + str(n % 9 + 1),
                "file": name,
            }
        )
    rows[5]["minimumElevationInMeters"] = "~ 1800"  # not a number: rejected by the server
    for row in rows:
        row.setdefault("minimumElevationInMeters", "120")
    with open(folder / "specimens.csv", "w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    command = [
        str(VENV_BIN / "specimen-upload"), "--url", live.url, "--token", token,
        "--batch-size", "5", "--concurrency", "3", "--part-size", "1", str(folder),
    ]  # fmt: skip
    dry = subprocess.run([*command, "--dry-run"], capture_output=True, text=True, timeout=300)
    assert dry.returncode == 2, dry.stdout + dry.stderr
    assert "valid: 11" in dry.stdout and "rejected: 1" in dry.stdout
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 2, result.stdout + result.stderr  # one rejected
    assert "published: 11" in result.stdout and "rejected: 1" in result.stdout
    report = list(
        csv.DictReader((tmp_path / "sheets.specimen-upload.report.csv").read_text().splitlines())
    )
    assert len(report) == 12
    published = {r["key"]: r["record_id"] for r in report if r["state"] == "published"}
    api = Api(live.url, token)
    for key, record_id in published.items():
        record = api.get(f"/api/records/{record_id}").json()
        assert record["custom_fields"]["dwc:catalogNumber"] == key
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert "published: 11" in again.stdout, again.stdout + again.stderr
    report2 = list(
        csv.DictReader((tmp_path / "sheets.specimen-upload.report.csv").read_text().splitlines())
    )
    assert {r["key"]: r["record_id"] for r in report2 if r["state"] == "published"} == published


def test_a_small_file_goes_up_in_one_request(depositor, tag):
    data = tiny_jpeg(len(tag) * 31 + 7) + tag.encode()
    digest = sha256(data)
    response = depositor.put(f"/api/bulk/files/{digest}", data=data)
    assert response.status_code == 200, response.text
    assert response.json()["complete"] is True and response.json()["size"] == len(data)
    again = depositor.put(f"/api/bulk/files/{digest}", data=data)
    assert again.status_code == 200  # idempotent
    wrong = depositor.put(f"/api/bulk/files/{sha256(data + b'!')}", data=data)
    assert wrong.status_code == 422
    big = distinct_sheet("136319", f"parts {tag}")
    declared = depositor.post(
        "/api/bulk/files", json={"sha256": sha256(big), "size": len(big), "part_size": MIN_PART}
    )
    assert declared.json()["parts_total"] > 1
    refused = depositor.put(f"/api/bulk/files/{sha256(big)}", data=big)
    assert refused.status_code == 409 and "send the parts" in refused.json()["message"]


def tar_of(members: list[tuple[str, bytes]]) -> bytes:
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_several_small_files_go_up_in_one_request(depositor, tag):
    first, second, bad = (tiny_jpeg(len(tag) * 13 + n) + f"{tag} {n}".encode() for n in range(3))
    body = tar_of(
        [
            (sha256(first), first),
            (sha256(bad), bad + b"!"),  # its bytes do not have the SHA-256 of its name
            ("not-a-digest", second),
            (sha256(second), second),
        ]
    )
    response = depositor.post(
        "/api/bulk/files", data=body, headers={"Content-Type": "application/x-tar"}
    )
    assert response.status_code == 200, response.text
    files = response.json()["files"]
    assert [f["complete"] for f in files] == [True, False, False, True]
    assert files[0] == {"sha256": sha256(first), "size": len(first), "complete": True}
    assert files[1]["status"] == 422 and "send the file again" in files[1]["message"]
    assert files[2]["status"] == 400 and files[2]["sha256"] == "not-a-digest"
    for data, complete in ((first, True), (second, True), (bad, False)):
        state = depositor.get(f"/api/bulk/files/{sha256(data)}")
        if complete:
            assert state.json()["complete"] is True, state.text
        else:  # declared by the refused member, never completed
            assert state.status_code == 404 or state.json()["complete"] is False, state.text
    again = depositor.post(
        "/api/bulk/files",
        data=tar_of([(sha256(first), first)]),
        headers={"Content-Type": "application/x-tar"},
    )
    assert again.json()["files"][0]["complete"] is True  # idempotent
    broken = depositor.post(
        "/api/bulk/files",
        data=tar_of([(sha256(bad), bad)])[:700],
        headers={"Content-Type": "application/x-tar"},
    )
    assert broken.status_code == 400, broken.text
    assert "tar stream" in broken.json()["message"]
    assert depositor.get(f"/api/bulk/files/{sha256(bad)}").json().get("complete") is not True
    empty = depositor.post(
        "/api/bulk/files", data=b"", headers={"Content-Type": "application/x-tar"}
    )
    assert empty.status_code == 400, empty.text


def test_items_are_claimed_as_their_files_arrive_in_any_order(live, depositor, tag):
    """The claim walks pending items in line order and takes those whose files are there:
    an item whose file came first is published while earlier lines still wait."""
    images = [tiny_jpeg(len(tag) * 17 + n) + f"order {tag} {n}".encode() for n in range(3)]
    lines = [
        specimen_line(f"{tag}-order-{n}", f"{tag}-order-{n}", [("sheet.jpg", data)])
        for n, data in enumerate(images)
    ]
    response = submit(depositor, lines)
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    depositor.put(f"/api/bulk/files/{sha256(images[2])}", data=images[2]).raise_for_status()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        counts = depositor.get(f"/api/bulk/jobs/{job_id}").json()["counts"]
        if counts["published"]:
            break
        time.sleep(1)
    states = {key: row["state"] for key, row in outcomes(depositor, job_id).items()}
    assert states == {
        f"{tag}-order-0": "pending",
        f"{tag}-order-1": "pending",
        f"{tag}-order-2": "published",
    }, states
    for data in images[:2]:
        depositor.put(f"/api/bulk/files/{sha256(data)}", data=data).raise_for_status()
    assert depositor.post(f"/api/bulk/jobs/{job_id}/close").status_code == 200
    finished = wait_finished(depositor, job_id)
    assert finished["counts"]["published"] == 3, finished


def test_bulk_setup_adds_the_claim_index_to_existing_tables(live):
    """An instance set up before the claim index gets it from `invenio specimens bulk-setup`."""
    name = "ix_specimen_bulk_item_claimable"
    live.sql(f"DROP INDEX {name}")
    assert live.sql(f"SELECT 1 FROM pg_indexes WHERE indexname = '{name}'") == []
    live.invenio("specimens", "bulk-setup")
    rows = live.sql(f"SELECT indexdef FROM pg_indexes WHERE indexname = '{name}'")
    assert len(rows) == 1, rows
    assert "(job_id, line)" in rows[0][0] and "'pending'" in rows[0][0], rows
    live.invenio("specimens", "bulk-setup")  # a second run changes nothing
    assert len(live.sql(f"SELECT 1 FROM pg_indexes WHERE indexname = '{name}'")) == 1
