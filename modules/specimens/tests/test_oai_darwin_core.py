"""OAI-PMH formats of specimen records: Simple Darwin Core (`dwc`) and Dublin Core (`oai_dc`).

The OAI functions get search hits (`{"_source": ...}`) and ask the records service for the
record it would return; here the service answers with the fixture record itself.
"""

import copy
from types import SimpleNamespace

import pytest
from flask import g
from invenio_rdm_records import oai as upstream_oai
from lxml import etree
from test_specimen_datacite import (
    OCCURRENCE_ID,
    SHARED_DATA,
    plain_record,
    serializer_app,
    specimen_record,
)

from specimen_rdm_specimens import oai_darwin_core
from specimen_rdm_specimens.custom_fields import DARWIN_CORE_TERMS
from specimen_rdm_specimens.oai_darwin_core import (
    DARWIN_CORE_TERM_ORDER,
    OAI_DARWIN_CORE_FORMAT,
    OAI_DC_FORMAT,
    darwin_core_etree,
    dublin_core_with_specimen_etree,
    simple_darwin_core,
)

DWR = "{http://rs.tdwg.org/dwc/xsd/simpledarwincore/}"
DWC = "{http://rs.tdwg.org/dwc/terms/}"
DCTERMS = "{http://purl.org/dc/terms/}"
DC = "{http://purl.org/dc/elements/1.1/}"
SCHEMAS = SHARED_DATA / "schemas"
DC_ELEMENTS = [
    "title",
    "creator",
    "subject",
    "description",
    "publisher",
    "contributor",
    "date",
    "type",
    "format",
    "identifier",
    "source",
    "language",
    "relation",
    "coverage",
    "rights",
]


class _RecordsService:
    """Answers `oai_result_item` with the hit's source, as the service would after loading it."""

    def oai_result_item(self, identity, source):
        return SimpleNamespace(to_dict=lambda: copy.deepcopy(source))


@pytest.fixture
def app(monkeypatch):
    app = serializer_app(monkeypatch)
    service = _RecordsService()
    monkeypatch.setattr(oai_darwin_core, "current_rdm_records_service", service)
    monkeypatch.setattr(upstream_oai, "current_rdm_records_service", service)
    with app.test_request_context():
        g.identity = SimpleNamespace(id="anonymous")
        yield app


@pytest.fixture(scope="module")
def oai_dc_schema(tmp_path_factory):
    """oai_dc.xsd, importing a local Simple Dublin Core schema instead of dublincore.org's.

    The stand-in declares the 15 DC 1.1 elements as simpledc20021212.xsd does: text with an
    optional xml:lang.
    """
    folder = tmp_path_factory.mktemp("oai_dc")
    xml_xsd = SCHEMAS / "datacite-4.5" / "include" / "xml.xsd"
    elements = "".join(f'<xs:element name="{name}" type="dc:elementType"/>' for name in DC_ELEMENTS)
    (folder / "simpledc.xsd").write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'targetNamespace="http://purl.org/dc/elements/1.1/" elementFormDefault="qualified">'
        '<xs:import namespace="http://www.w3.org/XML/1998/namespace" '
        f'schemaLocation="{xml_xsd.as_uri()}"/>'
        '<xs:complexType name="elementType"><xs:simpleContent>'
        '<xs:extension base="xs:string"><xs:attribute ref="xml:lang" use="optional"/>'
        "</xs:extension></xs:simpleContent></xs:complexType>"
        f"{elements}</xs:schema>"
    )
    oai_dc = (SCHEMAS / "oai-pmh" / "oai_dc.xsd").read_text()
    oai_dc = oai_dc.replace(
        "http://dublincore.org/schemas/xmls/simpledc20021212.xsd",
        (folder / "simpledc.xsd").as_uri(),
    )
    (folder / "oai_dc.xsd").write_text(oai_dc)
    return etree.XMLSchema(etree.parse(str(folder / "oai_dc.xsd")))


def _written(element: etree._Element) -> etree._Element:
    """The element as the OAI server writes it out, parsed again."""
    return etree.fromstring(etree.tostring(element))


def _occurrence(root: etree._Element) -> etree._Element:
    assert root.tag == f"{DWR}SimpleDarwinRecordSet"
    (occurrence,) = root
    assert occurrence.tag == f"{DWR}SimpleDarwinRecord"
    return occurrence


def test_simple_darwin_core_has_record_level_terms(app):
    occurrence = _occurrence(_written(simple_darwin_core(specimen_record())))
    assert occurrence.findtext(f"{DCTERMS}modified") == "2025-03-02T11:30:00.000000+00:00"
    assert (
        occurrence.findtext(f"{DCTERMS}license")
        == "https://creativecommons.org/licenses/by/4.0/legalcode"
    )
    assert (
        occurrence.findtext(f"{DCTERMS}references")
        == "https://specimen-rdm.org/records/abcd1-ef234"
    )
    assert occurrence.findtext(f"{DCTERMS}bibliographicCitation") == (
        "Botanic Garden and Botanical Museum Berlin (2025). Quercus robur L. — B 10 0012345. "
        "Specimen RDM. https://doi.org/10.80000/specimen-rdm.abcd1-ef234"
    )


def test_simple_darwin_core_has_every_stored_term_in_order(app):
    record = specimen_record()
    occurrence = _occurrence(_written(simple_darwin_core(record)))
    terms = [e.tag.removeprefix(DWC) for e in occurrence if e.tag.startswith(DWC)]
    stored = [k.removeprefix("dwc:") for k in record["custom_fields"] if k.startswith("dwc:")]
    assert sorted(terms) == sorted(stored)
    assert terms == sorted(terms, key=DARWIN_CORE_TERM_ORDER.index)
    assert terms[:4] == ["institutionCode", "basisOfRecord", "occurrenceID", "catalogNumber"]
    assert occurrence.findtext(f"{DWC}occurrenceID") == OCCURRENCE_ID
    assert occurrence.findtext(f"{DWC}otherCatalogNumbers") == "BGBM-1931-77 | K-000123"
    assert occurrence.findtext(f"{DWC}decimalLatitude") == "41.1842"
    assert occurrence.findtext(f"{DWC}eventDate") == "1931-06-27/07-02"  # as deposited
    # Audubon Core and the server's interpretation are not Simple Darwin Core.
    assert all(e.tag.startswith((DWC, DCTERMS)) for e in occurrence)


def test_term_order_covers_every_stored_term():
    assert sorted(DARWIN_CORE_TERM_ORDER) == sorted(DARWIN_CORE_TERMS)


def test_darwin_core_oai_format_reads_search_hits(app):
    source = specimen_record()
    root = _written(darwin_core_etree(None, {"_source": source}))
    assert _occurrence(root).findtext(f"{DWC}scientificName") == "Quercus robur L."
    location = root.get("{http://www.w3.org/2001/XMLSchema-instance}schemaLocation")
    assert location == (
        "http://rs.tdwg.org/dwc/xsd/simpledarwincore/ "
        "http://rs.tdwg.org/dwc/xsd/tdwg_dwc_simple.xsd"
    )


def test_index_document_dates_are_written_as_deposited(app):
    record = specimen_record()
    record["custom_fields"]["dwc:eventDate"] = {
        "date": "1931-06-27/07-02",
        "date_range": {"gte": "1931-06-27", "lte": "1931-07-02"},
    }
    occurrence = _occurrence(simple_darwin_core(record))
    assert occurrence.findtext(f"{DWC}eventDate") == "1931-06-27/07-02"


def test_record_without_darwin_core_has_only_record_level_terms(app):
    occurrence = _occurrence(simple_darwin_core(plain_record()))
    assert {e.tag.removeprefix(DCTERMS) for e in occurrence} == {
        "modified",
        "license",
        "bibliographicCitation",
        "references",
    }


def test_oai_dc_adds_coverage_and_taxon_subjects(app, oai_dc_schema):
    root = _written(dublin_core_with_specimen_etree(None, {"_source": specimen_record()}))
    oai_dc_schema.assertValid(root)
    assert [e.text for e in root.findall(f"{DC}coverage")] == [
        "Belgrad Forest near Istanbul, Istanbul, Türkiye",
        "41.1842, 28.9731",
        "1931-06-27/1931-07-02",
    ]
    assert [e.text for e in root.findall(f"{DC}subject")] == [
        "Herbarium specimens",
        "Quercus robur L.",
        "Fagaceae",
        "Quercus",
    ]
    # InvenioRDM's elements stay.
    assert root.findtext(f"{DC}title") == "Quercus robur L. — B 10 0012345"
    identifiers = [e.text for e in root.findall(f"{DC}identifier")]
    assert "https://doi.org/10.80000/specimen-rdm.abcd1-ef234" in identifiers
    assert OCCURRENCE_ID in identifiers


def test_oai_dc_of_other_records_is_upstream(app, oai_dc_schema):
    hit = {"_source": plain_record()}
    root = dublin_core_with_specimen_etree(None, hit)
    oai_dc_schema.assertValid(_written(root))
    assert etree.tostring(root) == etree.tostring(upstream_oai.dublincore_etree(None, hit))


def test_format_entries():
    assert OAI_DARWIN_CORE_FORMAT == {
        "serializer": "specimen_rdm_specimens.oai_darwin_core:darwin_core_etree",
        "schema": "http://rs.tdwg.org/dwc/xsd/tdwg_dwc_simple.xsd",
        "namespace": "http://rs.tdwg.org/dwc/xsd/simpledarwincore/",
    }
    assert OAI_DC_FORMAT["serializer"].endswith(":dublin_core_with_specimen_etree")
    assert OAI_DC_FORMAT["namespace"] == "http://www.openarchives.org/OAI/2.0/oai_dc/"
