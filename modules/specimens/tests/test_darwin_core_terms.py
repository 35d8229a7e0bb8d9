"""Term names from real archives map to the ratified Darwin Core names."""

import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pytest

from specimen_rdm_specimens.darwin_core_terms import (
    UnknownTermNamespace,
    canonical_term,
)

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "dwca"


def meta_terms(archive: Path) -> list[str]:
    """Term URIs of the core's fields in an archive's meta.xml."""
    with zipfile.ZipFile(archive) as zf:
        name = next(n for n in zf.namelist() if n.endswith("meta.xml") and "__MACOSX" not in n)
        root = ElementTree.fromstring(zf.read(name))
    ns = {"dwc": "http://rs.tdwg.org/dwc/text/"}
    return [field.get("term") for field in root.find("dwc:core", ns).findall("dwc:field", ns)]


def test_pre_standard_archive_terms_map_to_ratified_names():
    terms = meta_terms(SHARED / "gbif-dwca-io" / "archive-occ.zip")
    dwc_terms = [canonical_term(t) for t in terms if "rs.tdwg.org/dwc/" in t]
    assert "dwc:scientificName" in dwc_terms
    assert "dwc:recordedBy" in dwc_terms  # from the 2009 term "Collector"
    assert "dwc:eventDate" in dwc_terms  # from "EarliestDateCollected"
    assert "dwc:decimalLatitude" in dwc_terms
    assert all(name.split(":")[1][0].islower() for name in dwc_terms)


def test_bare_and_prefixed_names():
    assert canonical_term("\ufeffcatalogNumber") == "dwc:catalogNumber"
    assert canonical_term("ac:subjectPart") == "ac:subjectPart"
    assert canonical_term("http://purl.org/dc/terms/modified") == "dcterms:modified"


def test_foreign_namespace_is_named_in_the_error():
    with pytest.raises(UnknownTermNamespace, match="ipt.gbif.org"):
        canonical_term("http://ipt.gbif.org/terms/sourceID")
