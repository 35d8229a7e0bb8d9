"""Darwin Core rows → RDM record data."""

import datetime

from specimen_rdm_specimens.specimen_rows import record_from_row, title_of

ROW = {
    "dwc:occurrenceID": "https://data.rbge.org.uk/herb/E00001234",
    "dwc:institutionCode": "E",
    "dwc:collectionCode": "Herbarium",
    "dwc:catalogNumber": "E00001234",
    "dwc:scientificName": "Quercus robur L.",
    "dwc:decimalLatitude": "55.965",
    "dwc:otherCatalogNumbers": "BM 123 | K 456",
    "dwc:species": "robur",
    "dwc:year": "1985",
    "dwc:month": "about May",
    "dcterms:modified": "2020-01-01",
}


def test_values_become_custom_fields_as_received():
    data, ignored = record_from_row(
        ROW, with_files=True, publisher="Specimen RDM", today=datetime.date(2026, 11, 22)
    )
    fields = data["custom_fields"]
    assert fields["dwc:decimalLatitude"] == "55.965"
    assert fields["dwc:otherCatalogNumbers"] == ["BM 123", "K 456"]
    assert fields["dwc:year"] == 1985
    assert fields["dwc:month"] == "about May"  # refused later, with the field named
    assert ignored == ["dcterms:modified", "dwc:species"]
    assert "dwc:species" not in fields


def test_record_metadata_is_derived_from_the_row():
    data, _ = record_from_row(
        ROW, with_files=False, publisher="Specimen RDM", today=datetime.date(2026, 11, 22)
    )
    metadata = data["metadata"]
    assert metadata["resource_type"] == {"id": "image-specimen"}
    assert metadata["title"] == "Quercus robur L. — E Herbarium E00001234"
    assert metadata["publication_date"] == "2026-11-22"
    assert metadata["creators"][0]["person_or_org"]["name"] == "E"
    assert metadata["identifiers"] == [
        {"identifier": "https://data.rbge.org.uk/herb/E00001234", "scheme": "url"}
    ]
    assert data["files"] == {"enabled": False}


def test_a_non_http_occurrence_id_is_not_an_alternate_identifier():
    data, _ = record_from_row(
        {"dwc:occurrenceID": "MO:Tropicos:1"}, with_files=False, publisher="Specimen RDM"
    )
    assert "identifiers" not in data["metadata"]
    assert data["metadata"]["title"] == "Unidentified specimen"
    assert data["metadata"]["creators"][0]["person_or_org"]["name"] == "Specimen RDM"


def test_title_without_catalogue_number():
    assert title_of({"dwc:scientificName": "Abies alba Mill."}) == "Abies alba Mill."


def test_media_links_become_associated_media_unless_the_row_has_some():
    links = ["https://data.nhm.ac.uk/media/1", "https://data.nhm.ac.uk/media/2"]
    data, _ = record_from_row(
        {"dwc:catalogNumber": "PV M 12345"},
        with_files=False,
        publisher="Specimen RDM",
        media_links=links,
    )
    assert data["custom_fields"]["dwc:associatedMedia"] == links
    data, _ = record_from_row(
        {"dwc:associatedMedia": "https://example.org/a.jpg"},
        with_files=False,
        publisher="Specimen RDM",
        media_links=links,
    )
    assert data["custom_fields"]["dwc:associatedMedia"] == ["https://example.org/a.jpg"]
