"""schema.org JSON-LD of specimen records: place, date, taxon and identifiers."""

import copy
import json

import pytest
from invenio_app_rdm.records_ui.views.filters import transform_record
from invenio_rdm_records.resources.config import record_serializers
from invenio_rdm_records.resources.serializers import SchemaorgJSONLDSerializer
from test_specimen_datacite import OCCURRENCE_ID, plain_record, serializer_app, specimen_record

from specimen_rdm_specimens.specimen_schema_org import (
    JSON_LD,
    SPECIMEN_SCHEMA_ORG_SERIALIZERS,
    SpecimenSchemaorgJSONLDSerializer,
)


@pytest.fixture
def app(monkeypatch):
    app = serializer_app(monkeypatch)
    with app.app_context():
        yield app


def _jsonld(record: dict) -> dict:
    return SpecimenSchemaorgJSONLDSerializer().dump_obj(record)


def test_specimen_has_content_location_and_temporal_coverage(app):
    data = _jsonld(specimen_record())
    assert data["contentLocation"] == {
        "@type": "Place",
        "name": "Belgrad Forest near Istanbul, Istanbul, Türkiye",
        "geo": {"@type": "GeoCoordinates", "latitude": 41.1842, "longitude": 28.9731},
    }
    assert data["temporalCoverage"] == "1931-06-27/1931-07-02"


def test_specimen_is_about_its_taxon_and_parent_taxa(app):
    about = _jsonld(specimen_record())["about"]
    assert about["@type"] == "Taxon"
    assert (about["name"], about["taxonRank"]) == ("Quercus robur L.", "species")
    chain = []
    taxon = about["parentTaxon"]
    while taxon:
        assert taxon["@type"] == "Taxon"
        chain.append((taxon["taxonRank"], taxon["name"]))
        taxon = taxon.get("parentTaxon")
    assert chain == [
        ("genus", "Quercus"),
        ("family", "Fagaceae"),
        ("order", "Fagales"),
        ("class", "Magnoliopsida"),
        ("phylum", "Tracheophyta"),
        ("kingdom", "Plantae"),
    ]


def test_genus_record_does_not_repeat_its_genus(app):
    record = specimen_record()
    record["custom_fields"]["dwc:scientificName"] = "Quercus"
    taxon = record["custom_fields"]["specimen:quality"]["interpreted"]["taxon"]
    taxon.update(scientificName="Quercus", rank="GENUS")
    about = _jsonld(record)["about"]
    assert (about["name"], about["taxonRank"]) == ("Quercus", "genus")
    assert about["parentTaxon"]["taxonRank"] == "family"


def test_identifiers_add_catalogue_number_and_occurrence_id(app):
    data = _jsonld(specimen_record())
    assert data["identifier"] == [
        "https://doi.org/10.80000/specimen-rdm.abcd1-ef234",
        {
            "@type": "PropertyValue",
            "propertyID": "http://rs.tdwg.org/dwc/terms/catalogNumber",
            "value": "B 10 0012345",
        },
        OCCURRENCE_ID,
    ]


def test_non_http_occurrence_id_is_a_property_value(app):
    record = specimen_record()
    record["custom_fields"]["dwc:occurrenceID"] = "urn:catalog:B:Herbarium:B100012345"
    assert _jsonld(record)["identifier"][-1] == {
        "@type": "PropertyValue",
        "propertyID": "http://rs.tdwg.org/dwc/terms/occurrenceID",
        "value": "urn:catalog:B:Herbarium:B100012345",
    }


def test_upstream_properties_stay(app):
    record = specimen_record()
    data = _jsonld(record)
    upstream = SchemaorgJSONLDSerializer().dump_obj(copy.deepcopy(record))
    added = {"contentLocation", "temporalCoverage", "about", "identifier"}
    assert {k: v for k, v in data.items() if k not in added} == {
        k: v for k, v in upstream.items() if k not in added
    }
    assert data["@type"] == "https://schema.org/Photograph"


def test_record_without_darwin_core_serialises_as_upstream(app):
    record = plain_record()
    assert _jsonld(record) == SchemaorgJSONLDSerializer().dump_obj(copy.deepcopy(record))


def test_landing_page_filter_uses_the_serializer_by_module(app):
    data = transform_record(
        specimen_record(),
        "SpecimenSchemaorgJSONLDSerializer",
        module="specimen_rdm_specimens.specimen_schema_org",
        throws=True,
    )
    assert data["about"]["name"] == "Quercus robur L."


def test_response_handler_replaces_upstream_json_ld(app):
    handler = SPECIMEN_SCHEMA_ORG_SERIALIZERS[JSON_LD]
    assert JSON_LD in record_serializers
    assert handler.headers is record_serializers[JSON_LD].headers is None
    body = json.loads(handler.serializer.serialize_object(specimen_record()))
    assert body["temporalCoverage"] == "1931-06-27/1931-07-02"
