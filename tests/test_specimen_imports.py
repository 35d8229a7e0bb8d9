"""Darwin Core Archive / CSV imports end to end: REST jobs, reports, re-imports, the CLI."""

import csv
import io
import json
import shutil
import uuid
import zipfile
from pathlib import Path

import pytest

from deposit import Api, wait_for
from live_instance import SHARED_DATA

DWCA = SHARED_DATA / "dwca"
MOBOT = DWCA / "gbif-dwca-io" / "MOBOTDarwinCore.csv"
NHM = DWCA / "gbif-dwca-io" / "csv-json-escaped-quotes"
PONTAURUS = DWCA / "gbif-dwca-io" / "archive-occ.zip"
MALFORMED = DWCA / "python-dwca-reader" / "dwca-malformed-descriptor"


def _zip_folder(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, path.name)
    return target


def _start(api, path: Path, **form) -> dict:
    with path.open("rb") as stream:
        response = api.post(
            "/api/specimens/imports", files={"file": (path.name, stream)}, data=form
        )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["state"] in ("queued", "running", "finished")
    return body


def _finished(api, job: dict, timeout: float = 300) -> dict:
    def done():
        body = api.get(f"/api/specimens/imports/{job['id']}").json()
        return body if body["state"] in ("finished", "failed") else None

    return wait_for(done, timeout=timeout, interval=1, what=f"import {job['id']}")


def _report(api, job: dict) -> list[dict]:
    response = api.get(f"/api/specimens/imports/{job['id']}/report")
    assert response.status_code == 200, response.text
    return response.json()["rows"]


@pytest.fixture(scope="module")
def mobot_import(depositor):
    """The MOBOT CSV (tab-separated, BOM) imported once."""
    job = _finished(depositor, _start(depositor, MOBOT))
    return job, _report(depositor, job)


def test_csv_import_creates_published_specimens(depositor, anonymous, mobot_import):
    job, rows = mobot_import
    assert job["state"] == "finished", job
    counts = job["counts"]
    assert counts["total"] == 3 and counts["processed"] == 3
    assert counts["created"] == 3 and counts["rejected"] == 0 and counts["duplicate"] == 0
    assert job["progress"] == 1.0
    assert [r["row"] for r in rows] == [1, 2, 3]
    assert {r["status"] for r in rows} <= {"created", "flagged"}
    record = anonymous.get(f"/api/records/{rows[2]['record_id']}").json()
    fields = record["custom_fields"]
    assert fields["dwc:scientificName"] == "Blechnum asplenioides Sw."
    assert fields["dwc:decimalLatitude"] == -16.25
    assert fields["dwc:catalogNumber"] == "3"
    assert fields["specimen:quality"]["interpreted"]["countryCode"] == "BO"
    assert record["pids"]["doi"]["identifier"]
    assert "dwc:species" not in fields
    assert any("species" in reason for reason in rows[2]["reasons"])


def test_report_as_csv(depositor, mobot_import):
    job, rows = mobot_import
    response = depositor.get(
        f"/api/specimens/imports/{job['id']}/report", headers={"Accept": "text/csv"}
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert [t["record_id"] or None for t in table] == [r["record_id"] for r in rows]


def test_reimport_creates_nothing_new(depositor, mobot_import):
    first, first_rows = mobot_import
    job = _finished(depositor, _start(depositor, MOBOT))
    assert job["counts"]["duplicate"] == 3 and job["counts"]["created"] == 0, job
    rows = _report(depositor, job)
    assert [r["existing_record_id"] for r in rows] == [r["record_id"] for r in first_rows]


def test_imports_are_private_to_their_owner(anonymous, live, mobot_import):
    job, _ = mobot_import
    assert anonymous.get(f"/api/specimens/imports/{job['id']}").status_code == 401
    other = Api(live.url, live.token("other-depositor@example.org"))
    assert other.get(f"/api/specimens/imports/{job['id']}").status_code == 403
    assert other.get("/api/specimens/imports/not-a-uuid").status_code == 404


def test_archive_with_multimedia_extension(depositor, anonymous, tmp_path):
    archive = _zip_folder(NHM, tmp_path / "nhm.zip")
    job = _finished(depositor, _start(depositor, archive))
    assert job["state"] == "finished", job
    assert job["counts"]["total"] == 1
    (row,) = _report(depositor, job)
    assert row["status"] in ("created", "flagged"), row
    record = anonymous.get(f"/api/records/{row['record_id']}").json()
    assert record["custom_fields"]["dwc:basisOfRecord"]
    # The four images of the multimedia extension are web links: kept as associatedMedia.
    media = record["custom_fields"]["dwc:associatedMedia"]
    assert len(media) == 4 and all(m.startswith("http://www.nhm.ac.uk/") for m in media)


def test_dry_run_of_a_pre_standard_archive(depositor, anonymous):
    before = anonymous.get("/api/records", params={"size": 1}).json()["hits"]["total"]
    job = _finished(depositor, _start(depositor, PONTAURUS, dry_run="true"), timeout=600)
    assert job["state"] == "finished", job
    counts = job["counts"]
    assert counts["total"] == 1534 and counts["processed"] == 1534, counts
    assert counts["created"] + counts["duplicate"] + counts["rejected"] == 1534
    assert counts["created"] > 1000, counts
    rows = _report(depositor, job)
    assert all(r["record_id"] is None for r in rows)
    after = anonymous.get("/api/records", params={"size": 1}).json()["hits"]["total"]
    assert after == before, "a dry run created records"


def test_broken_descriptor_is_reported(depositor, tmp_path):
    archive = _zip_folder(MALFORMED, tmp_path / "malformed.zip")
    with archive.open("rb") as stream:
        response = depositor.post("/api/specimens/imports", files={"file": (archive.name, stream)})
    if response.status_code == 400:
        message = response.json()["message"]
        assert "occurrence" in message and "column" in message, message
        return
    assert response.status_code == 202, response.text
    job = _finished(depositor, response.json())
    rows = _report(depositor, job)
    assert rows and all(r["status"] == "rejected" for r in rows)
    assert "column" in rows[0]["reasons"][0]


def test_malformed_meta_xml_is_a_400(depositor, tmp_path):
    folder = tmp_path / "broken"
    shutil.copytree(NHM, folder)
    (folder / "meta.xml").write_text("<archive><core rowType=")
    archive = _zip_folder(folder, tmp_path / "broken.zip")
    with archive.open("rb") as stream:
        response = depositor.post("/api/specimens/imports", files={"file": (archive.name, stream)})
    assert response.status_code == 400, response.text
    assert "meta.xml" in response.json()["message"]


def test_upload_of_another_file_type_is_a_400(depositor):
    response = depositor.post(
        "/api/specimens/imports", files={"file": ("sheet.jpg", b"\xff\xd8\xff")}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "file"


def test_cli_dry_run_reports_the_imported_rows_as_duplicates(live, mobot_import, tmp_path):
    _, first_rows = mobot_import
    report = tmp_path / "report.jsonl"
    output = live.invenio("specimens", "import", str(MOBOT), "--dry-run", "--report", str(report))
    assert "3 rows: would create 0" in output and "3 duplicates" in output, output
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    assert [r["existing_record_id"] for r in lines] == [r["record_id"] for r in first_rows]


def test_export_round_trip(depositor, anonymous, mobot_import, tmp_path):
    _, rows = mobot_import
    ids = [r["record_id"] or r["existing_record_id"] for r in rows]  # also on a reused instance

    def searchable():
        query = " OR ".join(f"id:{i}" for i in ids)
        hits = anonymous.get("/api/records", params={"q": query}).json()["hits"]["total"]
        return hits == len(ids)

    wait_for(searchable, what="the imported records in search")
    response = anonymous.get(
        "/api/specimens/export", params={"q": "institutionCode:MO AND collectionCode:Tropicos"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/zip"
    archive = tmp_path / "export.zip"
    archive.write_bytes(response.content)
    from specimen_rdm_specimens.darwin_core_archive import open_source

    with open_source(archive) as source:
        exported = {row.core_id: row.values for row in source}
    assert set(ids) <= set(exported)
    original = MOBOT.read_text(encoding="utf-8-sig").splitlines()[3].split("\t")
    blechnum = exported[ids[2]]
    assert blechnum["dwc:scientificName"] == original[3] == "Blechnum asplenioides Sw."
    assert blechnum["dwc:decimalLatitude"] == "-16.25"
    assert blechnum["dwc:locality"] == original[23].strip()
    job = _finished(depositor, _start(depositor, archive, dry_run="true"))
    report = {r["core_id"]: r for r in _report(depositor, job)}
    for record_id in ids:
        assert report[record_id]["status"] == "duplicate"
        assert report[record_id]["existing_record_id"] == record_id


def test_import_into_a_community(depositor, anonymous, tmp_path):
    slug = f"herbarium-{uuid.uuid4().hex[:8]}"
    response = depositor.post(
        "/api/communities",
        json={
            "slug": slug,
            "metadata": {"title": "Herbarium Berolinense imports"},
            # Open review: curators and owners include records without a review request.
            "access": {
                "visibility": "public",
                "record_submission_policy": "open",
                "review_policy": "open",
            },
        },
    )
    assert response.status_code == 201, response.text
    community_id = response.json()["id"]
    number = uuid.uuid4().hex[:8]
    rows = tmp_path / "community.csv"
    rows.write_text(
        "occurrenceID,catalogNumber,institutionCode,collectionCode,scientificName,"
        "basisOfRecord,country,eventDate\n"
        f"urn:catalog:B:herbarium:{number},{number},B,Herbarium,Abies alba Mill.,"
        "PreservedSpecimen,Germany,1931-06-27\n"
    )
    job = _finished(depositor, _start(depositor, rows, community=slug))
    (row,) = _report(depositor, job)
    assert row["status"] in ("created", "flagged"), row
    assert not any("community" in reason for reason in row["reasons"]), row
    record = anonymous.get(f"/api/records/{row['record_id']}").json()
    assert community_id in record["parent"]["communities"]["ids"], record["parent"]
