"""Specimen records end to end: Darwin Core fields, quality flags, search, duplicates."""

import uuid

import pytest

from deposit import darwin_core_record, publish, sheet_jpeg, upload, wait_for


def _unique() -> str:
    return uuid.uuid4().hex[:10]


def _berlin_oak(catalog_number: str, **extra) -> dict:
    terms = {
        "occurrenceID": f"https://herbarium.bgbm.org/object/{catalog_number}",
        "institutionCode": "B",
        "collectionCode": "Herbarium Berolinense",
        "catalogNumber": catalog_number,
        "basisOfRecord": "PreservedSpecimen",
        "scientificName": "Quercus robur L.",
        "kingdom": "Plantae",
        "family": "Fagaceae",
        "genus": "Quercus",
        "recordedBy": "Hein, P.",
        "eventDate": "1931-06-27/1931-07-02",
        "country": "Germany",
        "countryCode": "DE",
        "locality": "Berlin-Dahlem, Botanischer Garten",
        "decimalLatitude": 52.4555,
        "decimalLongitude": 13.3047,
        "typeStatus": "Holotype of Quercus robur L.",
    }
    terms.update(extra)
    return darwin_core_record(f"Quercus robur {catalog_number}", **terms)


def _search(api, query: str) -> dict:
    response = api.get("/api/records", params={"q": query, "size": 50})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def oak(depositor):
    """A published specimen with an image, clean of quality flags."""
    response = depositor.post("/api/records", json=_berlin_oak(f"B-{_unique()}"))
    assert response.status_code == 201, response.text
    draft = response.json()
    assert not draft.get("errors"), draft.get("errors")
    upload(depositor, draft["id"], "sheet.jpg", sheet_jpeg("BM000521755"))
    return publish(depositor, draft["id"])


def test_darwin_core_values_are_kept_typed_and_interpreted(oak):
    fields = oak["custom_fields"]
    assert fields["dwc:decimalLatitude"] == 52.4555
    assert fields["dwc:eventDate"] == "1931-06-27/1931-07-02"
    assert fields["dwc:typeStatus"] == "Holotype of Quercus robur L."
    quality = fields["specimen:quality"]
    assert quality["flags"] == []
    interpreted = quality["interpreted"]
    assert interpreted["countryCode"] == "DE"
    assert interpreted["year"] == 1931
    assert interpreted["typeStatus"].lower() == "holotype"
    assert interpreted["taxon"]["family"] == "Fagaceae"
    assert len(quality["image_sha256"]) == 1 and len(quality["image_sha256"][0]) == 64
    assert oak["metadata"]["resource_type"]["id"] == "image-specimen"


def test_quality_flags_are_stored_searchable_and_faceted(depositor, anonymous, oak):
    catalog_number = f"B-{_unique()}"
    data = _berlin_oak(catalog_number, decimalLatitude=0, decimalLongitude=0)
    data["files"] = {"enabled": False}
    response = depositor.post("/api/records", json=data)
    assert response.status_code == 201, response.text
    record = publish(depositor, response.json()["id"])
    flags = record["custom_fields"]["specimen:quality"]["flags"]
    assert "ZERO_COORDINATE" in flags
    issue = next(
        i
        for i in record["custom_fields"]["specimen:quality"]["issues"]
        if i["name"] == "ZERO_COORDINATE"
    )
    assert issue["severity"] in ("WARNING", "ERROR", "INFO") and issue["message"]

    def found():
        hits = _search(anonymous, f'flags:ZERO_COORDINATE AND catalogNumber:"{catalog_number}"')
        return hits if hits["hits"]["total"] == 1 else None

    result = wait_for(found, what="the flagged record in search")
    assert result["hits"]["hits"][0]["id"] == record["id"]
    assert _search(anonymous, f"flags:ZERO_COORDINATE AND id:{oak['id']}")["hits"]["total"] == 0
    buckets = {
        b["key"] for b in _search(anonymous, "flags:ZERO_COORDINATE")["aggregations"][
            "quality_flag"]["buckets"]
    }  # fmt: skip
    assert "ZERO_COORDINATE" in buckets


def test_facets_and_darwin_core_query_names(anonymous, oak):
    def indexed():
        return _search(anonymous, f"id:{oak['id']}")["hits"]["total"] == 1

    wait_for(indexed, what="the specimen in search")
    result = _search(anonymous, f"family:Fagaceae AND id:{oak['id']}")
    assert result["hits"]["total"] == 1
    aggregations = result["aggregations"]
    for facet, value in (
        ("family", "Fagaceae"),
        ("genus", "Quercus"),
        ("country", "DE"),
        ("basis_of_record", "PreservedSpecimen"),
        ("institution", "B"),
        ("year", 1931),
    ):
        keys = {b["key"] for b in aggregations[facet]["buckets"]}
        assert value in keys or str(value) in keys, (facet, keys)
    assert _search(anonymous, f"locality:Dahlem AND id:{oak['id']}")["hits"]["total"] == 1
    filtered = anonymous.get(
        "/api/records", params={"q": f"id:{oak['id']}", "family": "Rosaceae"}
    ).json()
    assert filtered["hits"]["total"] == 0


@pytest.mark.parametrize(
    ("term", "value", "reason"),
    [
        ("decimalLatitude", "abc", "number"),
        ("eventDate", "31/31/2020", "date"),
    ],
)
def test_malformed_values_are_a_400_naming_the_field(depositor, term, value, reason):
    catalog_number = f"B-{_unique()}"
    response = depositor.post("/api/records", json=_berlin_oak(catalog_number, **{term: value}))
    assert response.status_code == 400, response.text
    body = response.json()
    fields = {e["field"]: " ".join(e["messages"]) for e in body["errors"]}
    assert f"custom_fields.dwc:{term}" in fields, fields
    drafts = depositor.get("/api/user/records", params={"q": f'"{catalog_number}"'}).json()
    assert drafts["hits"]["total"] == 0, "a rejected deposit left a draft behind"


def test_duplicate_occurrence_id_is_a_409_with_the_existing_record(depositor, oak):
    occurrence_id = oak["custom_fields"]["dwc:occurrenceID"]
    data = _berlin_oak(f"B-{_unique()}", occurrenceID=occurrence_id)
    response = depositor.post("/api/records", json=data)
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["existing_record"]["id"] == oak["id"]
    assert body["errors"][0]["field"] == "custom_fields.dwc:occurrenceID"
    assert oak["id"] in body["existing_record"]["links"]["self_html"]
    # The form shows the field's message: it links to the existing record.
    assert body["existing_record"]["links"]["self_html"] in body["errors"][0]["messages"][0]


def test_duplicate_catalogue_number_is_a_409(depositor, oak):
    fields = oak["custom_fields"]
    data = _berlin_oak(fields["dwc:catalogNumber"], occurrenceID=f"urn:uuid:{uuid.uuid4()}")
    response = depositor.post("/api/records", json=data)
    assert response.status_code == 409, response.text
    assert response.json()["existing_record"]["id"] == oak["id"]


def test_duplicate_image_is_refused_at_publish(depositor, oak):
    response = depositor.post("/api/records", json=_berlin_oak(f"B-{_unique()}"))
    assert response.status_code == 201, response.text
    draft = response.json()
    upload(depositor, draft["id"], "same-sheet.jpg", sheet_jpeg("BM000521755"))
    response = depositor.post(f"/api/records/{draft['id']}/draft/actions/publish")
    assert response.status_code == 409, response.text
    assert response.json()["existing_record"]["id"] == oak["id"]
    assert response.json()["errors"][0]["field"] == "files"
    # the draft stays a draft: the depositor can replace the image
    assert depositor.get(f"/api/records/{draft['id']}/draft").status_code == 200


def test_a_new_version_of_the_same_specimen_is_not_a_duplicate(depositor, oak):
    response = depositor.post(f"/api/records/{oak['id']}/versions")
    assert response.status_code == 201, response.text
    draft = response.json()
    draft["metadata"]["publication_date"] = "2026-11-22"
    response = depositor.put(f"/api/records/{draft['id']}/draft", json=draft)
    assert response.status_code == 200, response.text
    response = depositor.post(f"/api/records/{draft['id']}/draft/actions/files-import")
    assert response.status_code == 201, response.text
    record = publish(depositor, draft["id"])
    assert record["custom_fields"]["dwc:occurrenceID"] == oak["custom_fields"]["dwc:occurrenceID"]
