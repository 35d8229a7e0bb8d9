"""Specimen values in DataCite registrations, OAI-PMH (dwc, oai_dc, datacite) and JSON-LD."""

import json
import re
import secrets

import pytest
import requests
from lxml import etree
from sickle import Sickle

from deposit import darwin_core_record, publish, wait_for
from live_instance import SHARED_DATA

SCHEMAS = SHARED_DATA / "schemas"
DWR = "http://rs.tdwg.org/dwc/xsd/simpledarwincore/"


@pytest.fixture(scope="module")
def specimen(depositor, anonymous):
    """A published, indexed metadata-only specimen record from Türkiye."""
    catalog_number = f"B-EXP-{secrets.token_hex(4)}"
    data = darwin_core_record(
        f"Abies cilicica {catalog_number}",
        occurrenceID=f"https://herbarium.bgbm.org/object/{catalog_number}",
        institutionCode="B",
        collectionCode="Herbarium Berolinense",
        catalogNumber=catalog_number,
        basisOfRecord="PreservedSpecimen",
        scientificName="Abies cilicica (Antoine & Kotschy) Carrière",
        kingdom="Plantae",
        family="Pinaceae",
        genus="Abies",
        recordedBy="Hein, P.",
        eventDate="1999-07-12/1999-07-16",
        country="Turkey",
        countryCode="TR",
        stateProvince="Antalya",
        locality="Akseki, Cimi",
        decimalLatitude=37.05,
        decimalLongitude=31.78,
    )
    data["files"] = {"enabled": False}
    response = depositor.post("/api/records", json=data)
    assert response.status_code == 201, response.text
    record = publish(depositor, response.json()["id"])

    def indexed():
        hits = anonymous.get("/api/records", params={"q": f"id:{record['id']}"}).json()
        return hits["hits"]["total"] == 1

    wait_for(indexed, what="the specimen in search")
    return record


def test_datacite_registration_carries_place_taxon_and_date(specimen, datacite):
    doi = specimen["pids"]["doi"]["identifier"]
    wait_for(
        lambda: datacite.dois.get(doi, {}).get("state") == "findable",
        timeout=90,
        what=f"DataCite registration of {doi}",
    )
    received = [r for r in datacite.requests if r.doi == doi and r.attributes]
    assert received and all(r.valid for r in received), [r.errors for r in received]
    attributes = received[-1].attributes
    assert attributes["types"]["resourceTypeGeneral"] == "Image"
    (location,) = attributes["geoLocations"]
    assert location["geoLocationPoint"] == {"pointLatitude": 37.05, "pointLongitude": 31.78}
    assert "Akseki, Cimi" in location["geoLocationPlace"]
    subjects = {(s["subject"], s.get("subjectScheme")) for s in attributes["subjects"]}
    assert ("Pinaceae", "Darwin Core: family") in subjects
    assert any(s.startswith("Abies cilicica") for s, _ in subjects)
    assert {"date": "1999-07-12/1999-07-16", "dateType": "Collected"} in attributes["dates"]
    identifiers = {i["alternateIdentifier"] for i in attributes.get("alternateIdentifiers", [])}
    assert specimen["custom_fields"]["dwc:occurrenceID"] in identifiers


def test_datacite_xml_validates_against_the_4_5_schema(specimen, anonymous):
    response = anonymous.get(
        f"/api/records/{specimen['id']}",
        headers={"Accept": "application/vnd.datacite.datacite+xml"},
    )
    assert response.status_code == 200, response.text
    schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "datacite-4.5" / "metadata.xsd")))
    document = etree.fromstring(response.content)
    assert schema.validate(document), schema.error_log
    namespace = {"d": "http://datacite.org/schema/kernel-4"}
    assert document.xpath("//d:geoLocationPoint/d:pointLatitude/text()", namespaces=namespace) == [
        "37.05"
    ]


def test_oai_pmh_darwin_core_record(live, specimen):
    harvester = Sickle(f"{live.url}/oai2d", timeout=60)
    formats = {f.metadataPrefix for f in harvester.ListMetadataFormats()}
    assert {"dwc", "oai_dc", "datacite"} <= formats
    identifier = f"oai:specimen-rdm.org:{specimen['id']}"
    record = harvester.GetRecord(identifier=identifier, metadataPrefix="dwc")
    (darwin_core,) = record.xml.iter(f"{{{DWR}}}SimpleDarwinRecord")
    values = {child.tag.split("}")[1]: child.text for child in darwin_core}
    assert values["catalogNumber"] == specimen["custom_fields"]["dwc:catalogNumber"]
    assert values["scientificName"] == "Abies cilicica (Antoine & Kotschy) Carrière"
    assert values["decimalLatitude"] == "37.05"
    assert values["eventDate"] == "1999-07-12/1999-07-16"

    dublin_core = harvester.GetRecord(identifier=identifier, metadataPrefix="oai_dc")
    coverage = dublin_core.metadata["coverage"]
    assert any("Akseki" in c for c in coverage) and "37.05, 31.78" in coverage
    assert "Pinaceae" in dublin_core.metadata["subject"]


def test_oai_pmh_dwc_page_is_schema_valid(live, specimen, tmp_path):
    # The OAI-PMH envelope is checked against OAI-PMH.xsd. Simple Darwin Core's own schema
    # (tdwg_dwc_simple.xsd) is not available offline: a stand-in declares its record-set element
    # and lets the content through, so only the envelope and the element name are checked here;
    # the values are checked by test_oai_pmh_darwin_core_record.
    stand_in = tmp_path / "simpledarwincore.xsd"
    stand_in.write_text(
        f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="{DWR}">'
        '<xs:element name="SimpleDarwinRecordSet"><xs:complexType><xs:sequence>'
        '<xs:any processContents="skip" minOccurs="0" maxOccurs="unbounded"/>'
        '</xs:sequence><xs:anyAttribute processContents="skip"/></xs:complexType></xs:element>'
        "</xs:schema>"
    )
    wrapper = tmp_path / "oai-dwc.xsd"
    wrapper.write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
        '<xs:import namespace="http://www.openarchives.org/OAI/2.0/" '
        f'schemaLocation="{(SCHEMAS / "oai-pmh" / "OAI-PMH.xsd").as_uri()}"/>'
        f'<xs:import namespace="{DWR}" schemaLocation="{stand_in.as_uri()}"/>'
        "</xs:schema>"
    )
    schema = etree.XMLSchema(etree.parse(str(wrapper)))
    page = requests.get(
        f"{live.url}/oai2d",
        params={"verb": "ListRecords", "metadataPrefix": "dwc"},
        timeout=60,
    )
    document = etree.fromstring(page.content)
    assert schema.validate(document), schema.error_log
    assert document.xpath("//dwr:SimpleDarwinRecord", namespaces={"dwr": DWR})


def test_landing_page_json_ld_describes_place_date_and_taxon(anonymous, specimen):
    html = anonymous.get(f"/records/{specimen['id']}", headers={"Accept": "text/html"}).text
    (script,) = re.findall(r"<script type='application/ld\+json'>(.*?)</script>", html, re.S)
    document = json.loads(script)
    place = document["contentLocation"]
    assert place["geo"]["latitude"] == 37.05 and place["geo"]["longitude"] == 31.78
    assert document["temporalCoverage"] == "1999-07-12/1999-07-16"
    assert document["about"]["@type"] == "Taxon"
    assert document["about"]["name"].startswith("Abies cilicica")
    api = anonymous.get(
        f"/api/records/{specimen['id']}", headers={"Accept": "application/ld+json"}
    ).json()
    assert api["contentLocation"] == place
