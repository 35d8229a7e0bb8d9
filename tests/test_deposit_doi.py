"""Deposit through the REST API: draft, JPEG + TIFF upload, publish, DataCite DOI, search."""

import pytest

from conftest import DATACITE_PREFIX
from deposit import create_draft, publish, sheet_jpeg, sheet_tiff, upload, wait_for


@pytest.fixture(scope="module")
def published(depositor):
    """A published record with a real herbarium JPEG and a TIFF."""
    draft = create_draft(depositor, "Holotype sheet of Astragalus BM000521755")
    upload(depositor, draft["id"], "BM000521755.jpg", sheet_jpeg("BM000521755"))
    upload(depositor, draft["id"], "L__0059912.tif", sheet_tiff("L__0059912"))
    return publish(depositor, draft["id"])


def test_published_record_has_doi_and_concept_doi(published, datacite):
    doi = published["pids"]["doi"]["identifier"]
    assert doi.startswith(f"{DATACITE_PREFIX}/specimen-rdm.")
    assert doi == f"{DATACITE_PREFIX}/specimen-rdm.{published['id']}"
    concept_doi = published["parent"]["pids"]["doi"]["identifier"]
    assert concept_doi == f"{DATACITE_PREFIX}/specimen-rdm.{published['parent']['id']}"

    # Registration runs in the Celery worker after publishing.
    for registered in (doi, concept_doi):
        state = wait_for(
            lambda d=registered: datacite.dois.get(d, {}).get("state"),
            timeout=90,
            what=f"DataCite registration of {registered}",
        )
        assert state == "findable"

    received = [r for r in datacite.requests if r.doi == doi and r.attributes]
    assert received, "the DataCite server received no metadata for the DOI"
    assert all(r.valid for r in received), [r.errors for r in received]
    attributes = received[-1].attributes
    assert attributes["titles"][0]["title"] == "Holotype sheet of Astragalus BM000521755"
    assert attributes["url"].endswith(f"/doi/{doi}") or published["id"] in attributes["url"]
    assert attributes["types"]["resourceTypeGeneral"] == "Image"
    concept = [r for r in datacite.requests if r.doi == concept_doi and r.attributes]
    assert concept and all(r.valid for r in concept)


def test_record_files_carry_checksums(published, anonymous):
    entries = anonymous.get(f"/api/records/{published['id']}/files").json()["entries"]
    assert {e["key"] for e in entries} == {"BM000521755.jpg", "L__0059912.tif"}
    assert all(e["checksum"].startswith("md5:") for e in entries)


def test_search_finds_the_record_by_title_word_and_doi(published, anonymous):
    doi = published["pids"]["doi"]["identifier"]

    def hits(query):
        response = anonymous.get("/api/records", params={"q": query})
        assert response.status_code == 200, response.text
        return [hit["id"] for hit in response.json()["hits"]["hits"]]

    assert published["id"] in wait_for(lambda: hits("Astragalus"), what="indexing")
    assert published["id"] in hits(f'pids.doi.identifier:"{doi}"')
    assert published["id"] in hits(f'doi:"{doi}"')
    concept_doi = published["parent"]["pids"]["doi"]["identifier"]
    assert published["id"] in hits(f'concept_doi:"{concept_doi}"')
    assert published["id"] not in hits("Quercus")
