"""DataCite 4.5 JSON and XML of specimen records: valid, merged with InvenioRDM's, unchanged for
other records.

`specimen_record`, `plain_record` and `serializer_app` are shared with the Dublin Core / Simple
Darwin Core and schema.org tests. The app has InvenioRDM's record settings; the vocabulary
look-ups InvenioRDM's serializers make (a search) answer from the fixture vocabulary below.
"""

import copy
from pathlib import Path

import pytest
from datacite import schema45
from flask import Flask
from invenio_rdm_records.resources.config import record_serializers
from invenio_rdm_records.resources.serializers import (
    DataCite45JSONSerializer,
    DataCite45XMLSerializer,
)
from lxml import etree

from specimen_rdm.datacite import (
    PARENT_PERSISTENT_IDENTIFIER_PROVIDERS,
    PERSISTENT_IDENTIFIER_PROVIDERS,
)
from specimen_rdm_specimens.resource_types import RESOURCE_TYPES
from specimen_rdm_specimens.specimen_datacite import (
    DATACITE_JSON,
    DATACITE_XML,
    OAI_DATACITE_FORMATS,
    SPECIMEN_DATACITE_SERIALIZERS,
    SpecimenDataCite45JSONSerializer,
    SpecimenDataCite45XMLSerializer,
    datacite_etree,
    oai_datacite_etree,
)

SHARED_DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"
DATACITE_XSD = SHARED_DATA / "schemas" / "datacite-4.5" / "metadata.xsd"
DATACITE = "{http://datacite.org/schema/kernel-4}"

OCCURRENCE_ID = "https://herbarium.bgbm.org/object/B100012345"
DOI = "10.80000/specimen-rdm.abcd1-ef234"

VOCABULARY = {("resourcetypes", entry["id"]): entry["props"] for entry in RESOURCE_TYPES} | {
    ("resourcetypes", "dataset"): {
        "datacite_general": "Dataset",
        "datacite_type": "",
        "eurepo": "info:eu-repo/semantics/other",
        "schema.org": "https://schema.org/Dataset",
    },
    ("contributorsroles", "datacollector"): {"datacite": "DataCollector"},
}
"""Props of the vocabulary entries the fixture records use (InvenioRDM's values)."""

UPSTREAM_SCHEMA_MODULES = (
    "invenio_rdm_records.resources.serializers.datacite.schema",
    "invenio_rdm_records.resources.serializers.dublincore.schema",
    "invenio_rdm_records.resources.serializers.schemaorg.schema",
)


def serializer_app(monkeypatch) -> Flask:
    """A Flask app with InvenioRDM's record settings and the fixture vocabulary."""
    app = Flask("specimen-serializers")
    app.config.from_object("invenio_rdm_records.config")
    app.config.update(
        DATACITE_DATACENTER_SYMBOL="SPECIMEN.RDM",
        VOCABULARIES_AFFILIATION_SCHEMES={"ror": {"datacite": "ROR"}},
    )

    def props(vocabulary, fields, id_):
        return VOCABULARY.get((vocabulary, id_), {})

    for module in UPSTREAM_SCHEMA_MODULES:
        monkeypatch.setattr(f"{module}.get_vocabulary_props", props)
    return app


def _base_record(record_id: str) -> dict:
    """What the records service returns for a published record, minus the custom fields."""
    return {
        "id": record_id,
        "created": "2025-03-01T10:00:00.000000+00:00",
        "updated": "2025-03-02T11:30:00.000000+00:00",
        "links": {
            "self": f"https://specimen-rdm.org/api/records/{record_id}",
            "self_html": f"https://specimen-rdm.org/records/{record_id}",
            "files": f"https://specimen-rdm.org/api/records/{record_id}/files",
        },
        "pids": {
            "doi": {
                "identifier": f"10.80000/specimen-rdm.{record_id}",
                "provider": "datacite",
                "client": "datacite",
            },
            "oai": {"identifier": f"oai:specimen-rdm.org:{record_id}", "provider": "oai"},
        },
        "parent": {
            "id": "wxyz9-ab123",
            "pids": {
                "doi": {
                    "identifier": "10.80000/specimen-rdm.wxyz9-ab123",
                    "provider": "datacite",
                    "client": "datacite",
                }
            },
            "communities": {},
        },
        "access": {
            "record": "public",
            "files": "public",
            "embargo": {"active": False, "reason": None},
            "status": "open",
        },
        "files": {"enabled": True, "count": 1, "total_bytes": 1843211, "entries": {}},
        "metadata": {
            "publisher": "Specimen RDM",
            "publication_date": "2025-03-01",
            "rights": [
                {
                    "id": "cc-by-4.0",
                    "title": {"en": "Creative Commons Attribution 4.0 International"},
                    "description": {"en": "The Creative Commons Attribution license ..."},
                    "icon": "cc-by-icon",
                    "props": {
                        "url": "https://creativecommons.org/licenses/by/4.0/legalcode",
                        "scheme": "spdx",
                    },
                }
            ],
        },
        "custom_fields": {},
    }


def specimen_record() -> dict:
    """A published herbarium specimen (BGBM Berlin) with its server interpretation."""
    record = _base_record("abcd1-ef234")
    record["metadata"].update(
        {
            "resource_type": {
                "id": "image-specimen",
                "title": {"en": "Specimen image"},
                "props": RESOURCE_TYPES[0]["props"],
            },
            "title": "Quercus robur L. — B 10 0012345",
            "creators": [
                {
                    "person_or_org": {
                        "type": "organizational",
                        "name": "Botanic Garden and Botanical Museum Berlin",
                    }
                }
            ],
            "contributors": [
                {
                    "person_or_org": {
                        "type": "personal",
                        "name": "Krause, Kurt",
                        "given_name": "Kurt",
                        "family_name": "Krause",
                    },
                    "role": {"id": "datacollector", "title": {"en": "Data collector"}},
                }
            ],
            "subjects": [{"subject": "Herbarium specimens"}],
            "identifiers": [{"identifier": OCCURRENCE_ID, "scheme": "url"}],
        }
    )
    record["custom_fields"] = {
        "dwc:occurrenceID": OCCURRENCE_ID,
        "dwc:catalogNumber": "B 10 0012345",
        "dwc:institutionCode": "B",
        "dwc:basisOfRecord": "PreservedSpecimen",
        "dwc:recordedBy": "K. Krause",
        "dwc:eventDate": "1931-06-27/07-02",
        "dwc:countryCode": "TR",
        "dwc:stateProvince": "Istanbul",
        "dwc:locality": "Belgrad Forest near Istanbul",
        "dwc:decimalLatitude": 41.1842,
        "dwc:decimalLongitude": 28.9731,
        "dwc:typeStatus": "Holotype of Quercus robur L.",
        "dwc:scientificName": "Quercus robur L.",
        "dwc:family": "Fagaceae",
        "dwc:otherCatalogNumbers": ["BGBM-1931-77", "K-000123"],
        "ac:subjectPart": "Entire",
        "specimen:quality": {
            "flags": [],
            "issues": [],
            "interpreted": {
                "countryCode": "TR",
                "country": "Türkiye",
                "hasCoordinates": True,
                "decimalLatitude": 41.1842,
                "decimalLongitude": 28.9731,
                "location": {"lat": 41.1842, "lon": 28.9731},
                "eventDate": "1931-06-27/1931-07-02",
                "year": 1931,
                "month": 6,
                "day": 27,
                "basisOfRecord": "PreservedSpecimen",
                "typeStatus": "Holotype",
                "taxon": {
                    "scientificName": "Quercus robur L.",
                    "canonicalName": "Quercus robur",
                    "authorship": "L.",
                    "rank": "SPECIES",
                    "kingdom": "Plantae",
                    "phylum": "Tracheophyta",
                    "class": "Magnoliopsida",
                    "order": "Fagales",
                    "family": "Fagaceae",
                    "genus": "Quercus",
                    "specificEpithet": "robur",
                    "matchType": "EXACT",
                    "matchedName": "Quercus robur",
                },
            },
            "image_sha256": ["9f2c" + "0" * 60],
        },
    }
    return record


def plain_record() -> dict:
    """A published dataset without Darwin Core values, with a location and a dated event."""
    record = _base_record("plain-00001")
    record["metadata"].update(
        {
            "resource_type": {"id": "dataset", "title": {"en": "Dataset"}},
            "title": "Leaf area measurements",
            "description": "<p>Leaf areas of <b>oak</b> seedlings.</p>",
            "creators": [
                {
                    "person_or_org": {
                        "type": "personal",
                        "name": "Doe, Jane",
                        "given_name": "Jane",
                        "family_name": "Doe",
                        "identifiers": [{"scheme": "orcid", "identifier": "0000-0002-1825-0097"}],
                    },
                    "affiliations": [{"name": "Freie Universität Berlin"}],
                }
            ],
            "subjects": [{"subject": "Plant physiology"}],
            "locations": {
                "features": [
                    {"place": "Berlin", "geometry": {"type": "Point", "coordinates": [13.3, 52.5]}}
                ]
            },
        }
    )
    record["custom_fields"] = {"journal:journal": {"title": "Plant Physiology"}}
    return record


@pytest.fixture
def app(monkeypatch):
    app = serializer_app(monkeypatch)
    with app.app_context():
        yield app


def _json(record: dict) -> dict:
    return SpecimenDataCite45JSONSerializer().dump_obj(record)


def test_specimen_json_is_valid_datacite_45(app):
    data = _json(specimen_record())
    schema45.validator.validate(data)
    assert schema45.validate(data)


def test_specimen_json_adds_taxon_subjects_after_the_record_subjects(app):
    subjects = _json(specimen_record())["subjects"]
    assert subjects[0] == {"subject": "Herbarium specimens"}
    assert subjects[1] == {
        "subject": "Quercus robur L.",
        "subjectScheme": "Darwin Core: scientificName",
        "schemeUri": "http://rs.tdwg.org/dwc/terms/scientificName",
    }
    ranks = {s["subjectScheme"]: s["subject"] for s in subjects[2:]}
    assert ranks == {
        "Darwin Core: kingdom": "Plantae",
        "Darwin Core: phylum": "Tracheophyta",
        "Darwin Core: class": "Magnoliopsida",
        "Darwin Core: order": "Fagales",
        "Darwin Core: family": "Fagaceae",
        "Darwin Core: genus": "Quercus",
    }
    assert subjects[-1]["schemeUri"] == "http://rs.tdwg.org/dwc/terms/genus"


def test_specimen_json_adds_place_point_and_collecting_date(app):
    data = _json(specimen_record())
    assert data["geoLocations"] == [
        {
            "geoLocationPlace": "Belgrad Forest near Istanbul, Istanbul, Türkiye",
            "geoLocationPoint": {"pointLatitude": 41.1842, "pointLongitude": 28.9731},
        }
    ]
    dates = {d["dateType"]: d["date"] for d in data["dates"]}
    assert dates == {
        "Issued": "2025-03-01",
        "Updated": "2025-03-02",
        "Collected": "1931-06-27/1931-07-02",
    }


def test_cetaf_identifier_is_an_alternate_identifier_once(app):
    data = _json(specimen_record())
    cetaf = [i for i in data["alternateIdentifiers"] if i["alternateIdentifier"] == OCCURRENCE_ID]
    assert cetaf == [{"alternateIdentifier": OCCURRENCE_ID, "alternateIdentifierType": "URL"}]
    # InvenioRDM's own identifiers stay: the landing page and the OAI identifier.
    types = [i["alternateIdentifierType"] for i in data["alternateIdentifiers"]]
    assert types[:2] == ["URL", "oai"]
    assert data["doi"] == DOI


def test_cetaf_identifier_missing_from_metadata_is_added(app):
    record = specimen_record()
    del record["metadata"]["identifiers"]
    data = _json(record)
    assert data["alternateIdentifiers"][-1] == {
        "alternateIdentifier": OCCURRENCE_ID,
        "alternateIdentifierType": "URL",
    }


def test_record_never_interpreted_uses_the_deposited_values(app):
    record = specimen_record()
    del record["custom_fields"]["specimen:quality"]
    record["custom_fields"].update({"dwc:eventDate": "1931-06", "dwc:country": "Turkey"})
    data = _json(record)
    schema45.validator.validate(data)
    assert {"date": "1931-06-01/1931-06-30", "dateType": "Collected"} in data["dates"]
    assert data["geoLocations"][0] == {
        "geoLocationPlace": "Belgrad Forest near Istanbul, Istanbul, Turkey",
        "geoLocationPoint": {"pointLatitude": 41.1842, "pointLongitude": 28.9731},
    }
    schemes = [s.get("subjectScheme") for s in data["subjects"]]
    assert schemes[1:] == ["Darwin Core: scientificName", "Darwin Core: family"]


def test_zero_or_unusable_coordinates_give_no_point(app):
    record = specimen_record()
    interpreted = record["custom_fields"]["specimen:quality"]["interpreted"]
    interpreted.update(decimalLatitude=0.0, decimalLongitude=0.0)
    assert "geoLocationPoint" not in _json(record)["geoLocations"][0]
    interpreted.update(hasCoordinates=False)
    del interpreted["decimalLatitude"], interpreted["decimalLongitude"]
    record["custom_fields"]["dwc:decimalLatitude"] = 141.0  # out of range: not interpreted
    assert _json(record)["geoLocations"] == [
        {"geoLocationPlace": "Belgrad Forest near Istanbul, Istanbul, Türkiye"}
    ]


def test_specimen_xml_validates_against_the_datacite_45_xsd(app):
    xml = SpecimenDataCite45XMLSerializer().serialize_object(specimen_record())
    resource = etree.fromstring(xml.encode("utf-8"))
    etree.XMLSchema(etree.parse(str(DATACITE_XSD))).assertValid(resource)
    collected = resource.find(f"{DATACITE}dates/{DATACITE}date[@dateType='Collected']")
    assert collected.text == "1931-06-27/1931-07-02"
    name = resource.find(f"{DATACITE}subjects/{DATACITE}subject[@subjectScheme]")
    assert name.text == "Quercus robur L."
    assert name.get("schemeURI") == "http://rs.tdwg.org/dwc/terms/scientificName"
    point = resource.find(
        f"{DATACITE}geoLocations/{DATACITE}geoLocation/{DATACITE}geoLocationPoint"
    )
    assert [e.text for e in point] == ["28.9731", "41.1842"]  # longitude first, as the XSD says


def test_record_without_darwin_core_serialises_as_upstream(app):
    record = plain_record()
    assert _json(record) == DataCite45JSONSerializer().dump_obj(copy.deepcopy(record))
    assert SpecimenDataCite45XMLSerializer().serialize_object(
        record
    ) == DataCite45XMLSerializer().serialize_object(copy.deepcopy(record))


def test_search_results_carry_specimen_metadata(app):
    hits = {"hits": {"hits": [specimen_record(), plain_record()], "total": 2}}
    dumped = SpecimenDataCite45JSONSerializer().dump_list(hits)["hits"]["hits"]
    assert any(d["dateType"] == "Collected" for d in dumped[0]["dates"])
    assert all(d["dateType"] != "Collected" for d in dumped[1]["dates"])


def _index_document(record: dict) -> dict:
    """The record as the search index holds it: dates with the days they cover."""
    document = copy.deepcopy(record)
    del document["links"]
    document["custom_fields"]["dwc:eventDate"] = {
        "date": "1931-06-27/07-02",
        "date_range": {"gte": "1931-06-27", "lte": "1931-07-02"},
    }
    return document


def test_oai_datacite_formats_carry_specimen_metadata(app):
    hit = {"_source": _index_document(specimen_record())}
    # As the OAI server writes it: the etree's elements take the default namespace only then.
    resource = etree.fromstring(etree.tostring(datacite_etree(None, hit)))
    etree.XMLSchema(etree.parse(str(DATACITE_XSD))).assertValid(resource)
    assert resource.find(f".//{DATACITE}date[@dateType='Collected']") is not None
    envelope = etree.fromstring(etree.tostring(oai_datacite_etree(None, hit)))
    oai = "{http://schema.datacite.org/oai/oai-1.1/}"
    assert envelope.findtext(f"{oai}schemaVersion") == "4.5"
    assert envelope.findtext(f"{oai}datacentreSymbol") == "SPECIMEN.RDM"
    (payload_resource,) = envelope.find(f"{oai}payload")
    assert payload_resource.find(f".//{DATACITE}geoLocationPlace") is not None
    assert OAI_DATACITE_FORMATS["oai_datacite"]["serializer"].endswith(":oai_datacite_etree")


def test_response_handlers_replace_upstream_ones_with_the_same_headers():
    assert set(SPECIMEN_DATACITE_SERIALIZERS) == {DATACITE_JSON, DATACITE_XML}
    for mimetype, handler in SPECIMEN_DATACITE_SERIALIZERS.items():
        assert mimetype in record_serializers
        assert handler.headers is record_serializers[mimetype].headers


def test_doi_providers_send_specimen_metadata():
    (record_provider,) = [p for p in PERSISTENT_IDENTIFIER_PROVIDERS if p.name == "datacite"]
    (parent_provider,) = PARENT_PERSISTENT_IDENTIFIER_PROVIDERS
    assert isinstance(record_provider.serializer, SpecimenDataCite45JSONSerializer)
    assert isinstance(parent_provider.serializer, SpecimenDataCite45JSONSerializer)
    assert parent_provider.serializer.object_schema.is_parent
