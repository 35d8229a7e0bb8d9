"""Darwin Core Archives we write read back, through our reader, to the values we wrote."""

import zipfile
from datetime import date
from pathlib import Path
from xml.etree.ElementTree import fromstring

import pytest

from specimen_rdm_specimens.darwin_core_archive import open_source
from specimen_rdm_specimens.darwin_core_archive_writer import ExportRow, write_archive

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "dwca"
TEXT = "{http://rs.tdwg.org/dwc/text/}"
DWC = "http://rs.tdwg.org/dwc/terms/"


def export_rows_of(path: Path) -> list[ExportRow]:
    """What an export of the rows read from `path` would hold."""
    return [
        ExportRow(row.core_id, row.values, [media.values for media in row.media])
        for row in open_source(path)
    ]


def written(tmp_path: Path, rows: list[ExportRow], **options) -> Path:
    target = tmp_path / "export.zip"
    with target.open("wb") as stream:
        write_archive(rows, stream, title=options.pop("title", "Test export"), **options)
    return target


def assert_round_trip(tmp_path: Path, rows: list[ExportRow]) -> None:
    source = open_source(written(tmp_path, rows))
    read_back = list(source)
    assert len(read_back) == len(rows) == source.row_count()
    for original, row in zip(rows, read_back, strict=True):
        assert not row.errors
        assert (row.core_id, row.values) == (original.core_id, original.values)
        assert [media.values for media in row.media] == original.media
    assert source.errors == []


def test_archive_occ_round_trips_every_row(tmp_path):
    rows = export_rows_of(SHARED / "gbif-dwca-io" / "archive-occ.zip")

    assert len(rows) == 1534
    assert_round_trip(tmp_path, rows)


def test_nhm_row_with_escaped_json_and_its_multimedia_round_trips(tmp_path):
    rows = export_rows_of(SHARED / "gbif-dwca-io" / "csv-json-escaped-quotes")

    assert '\\"fragments of bone\\"' in rows[0].values["dwc:dynamicProperties"]
    assert len(rows[0].media) == 4
    assert_round_trip(tmp_path, rows)


def test_mobot_csv_round_trips_as_an_archive(tmp_path):
    rows = export_rows_of(SHARED / "gbif-dwca-io" / "MOBOTDarwinCore.csv")

    assert_round_trip(tmp_path, rows)


def test_tabs_line_breaks_and_quotes_in_values_survive(tmp_path):
    awkward = {
        "dwc:occurrenceID": "urn:x:1",
        "dwc:locality": 'Hill "A"\tnorth slope\nbelow the\r\nridge',
        "dwc:occurrenceRemarks": "lone\rcarriage return",
        "dwc:dynamicProperties": '{"note": "tab\\there", "quote": "\\"x\\""}',
        "dwc:recordedBy": "J. Smith | A. Jones",
    }
    rows = [
        ExportRow("rec-1\twith tab", awkward, [{"ac:accessURI": "https://x.org/a b.jpg"}]),
        ExportRow("rec-2", {"dwc:scientificName": "Tilia L."}),
    ]

    assert_round_trip(tmp_path, rows)


def test_meta_xml_declares_the_core_and_the_audubon_core_extension(tmp_path):
    rows = [
        ExportRow(
            "r1",
            {"dwc:scientificName": "Quercus robur L.", "dwc:occurrenceID": "urn:x:1"},
            [
                {
                    "dcterms:title": "Sheet",
                    "ac:accessURI": "https://x.org/r1.jpg",
                    "dcterms:format": "image/jpeg",
                    "dcterms:identifier": "r1.jpg",
                }
            ],
        ),
        ExportRow("r2", {"dwc:catalogNumber": "K-2", "ac:subjectPart": "leaf"}),
    ]
    with zipfile.ZipFile(written(tmp_path, rows)) as archive:
        meta = fromstring(archive.read("meta.xml"))
        header = archive.read("occurrence.txt").decode().splitlines()[0]
        media_header = archive.read("multimedia.txt").decode().splitlines()[0]

    core = meta.find(f"{TEXT}core")
    assert core.get("rowType") == f"{DWC}Occurrence"
    assert (core.get("fieldsTerminatedBy"), core.get("ignoreHeaderLines")) == ("\\t", "1")
    assert (core.get("encoding"), core.get("fieldsEnclosedBy")) == ("UTF-8", '"')
    assert core.find(f"{TEXT}files/{TEXT}location").text == "occurrence.txt"
    assert core.find(f"{TEXT}id").get("index") == "0"
    assert [(f.get("index"), f.get("term")) for f in core.findall(f"{TEXT}field")] == [
        ("1", f"{DWC}occurrenceID"),
        ("2", f"{DWC}catalogNumber"),
        ("3", f"{DWC}scientificName"),
        ("4", "http://rs.tdwg.org/ac/terms/subjectPart"),
    ]
    assert header == "id\toccurrenceID\tcatalogNumber\tscientificName\tsubjectPart"
    extension = meta.find(f"{TEXT}extension")
    assert extension.get("rowType") == "http://rs.tdwg.org/ac/terms/Multimedia"
    assert extension.find(f"{TEXT}coreid").get("index") == "0"
    assert [f.get("term") for f in extension.findall(f"{TEXT}field")] == [
        "http://rs.tdwg.org/ac/terms/accessURI",
        "http://purl.org/dc/terms/identifier",
        "http://purl.org/dc/terms/format",
        "http://purl.org/dc/terms/title",
    ]
    assert media_header == "coreid\taccessURI\tidentifier\tformat\ttitle"


def test_without_media_there_is_no_multimedia_extension(tmp_path):
    target = written(tmp_path, [ExportRow("r1", {"dwc:scientificName": "Tilia L."})])

    with zipfile.ZipFile(target) as archive:
        assert sorted(archive.namelist()) == ["eml.xml", "meta.xml", "occurrence.txt"]
        assert fromstring(archive.read("meta.xml")).find(f"{TEXT}extension") is None


def test_eml_holds_the_title_and_publication_date(tmp_path):
    target = written(
        tmp_path,
        [ExportRow("r1", {"dwc:scientificName": "Tilia L."})],
        title="Herbarium export: Tilia",
        published=date(2024, 5, 17),
    )

    assert open_source(target).metadata == {
        "title": "Herbarium export: Tilia",
        "pubDate": "2024-05-17",
    }
    with zipfile.ZipFile(target) as archive:
        eml = fromstring(archive.read("eml.xml"))
    assert eml.tag == "{eml://ecoinformatics.org/eml-2.1.1}eml"
    assert [child.tag for child in eml.find("dataset")] == [
        "title",
        "creator",
        "pubDate",
        "contact",
    ]


def test_embedded_media_files_resolve_when_read_back(tmp_path):
    image = tmp_path / "sheet.jpg"
    image.write_bytes(b"\xff\xd8sheet")
    rows = [
        ExportRow(
            "r1",
            {"dwc:catalogNumber": "K-1"},
            [{"ac:accessURI": "media/sheet.jpg", "dcterms:format": "image/jpeg"}],
        )
    ]

    with open_source(written(tmp_path, rows, media={"media/sheet.jpg": image})) as source:
        (row,) = list(source)
        assert row.media[0].local_path.read_bytes() == b"\xff\xd8sheet"
        assert not row.errors


@pytest.mark.parametrize(
    ("rows", "media", "message"),
    [
        ([ExportRow("r1", {"scientificName": "Tilia L."})], None, "expected dwc:, dcterms:"),
        ([ExportRow("r1", {"dwc:year": 1999})], None, "is not a string"),
        ([ExportRow("", {"dwc:year": "1999"})], None, "is empty"),
        ([ExportRow("r1", {}), ExportRow("r1", {})], None, "occurs twice"),
        ([ExportRow("r1", {})], {"../x.jpg": b"x"}, "not a plain relative path"),
        ([ExportRow("r1", {})], {"meta.xml": b"x"}, "not a plain relative path"),
    ],
)
def test_rows_that_cannot_be_written_faithfully_are_refused(tmp_path, rows, media, message):
    target = tmp_path / "export.zip"

    with target.open("wb") as stream, pytest.raises((ValueError, TypeError), match=message):
        write_archive(rows, stream, title="x", media=media)
    assert target.stat().st_size == 0  # nothing was written
