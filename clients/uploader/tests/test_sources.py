"""Reading Darwin Core Archives and folders (real archives from the shared sample data)."""

import csv
import zipfile
from pathlib import Path

import pytest
from specimen_upload.sources import SourceError, read_source

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data"
DWCA = SHARED / "dwca"
SHEETS = SHARED / "herbarium" / "sheets" / "img"


def test_pre_standard_archive_in_a_subfolder_with_macosx_junk():
    records = read_source(DWCA / "gbif-dwca-io" / "archive-occ.zip")
    assert len(records) == 1534
    assert len({r.key for r in records}) == 1534
    first = records[0]
    terms = {term.rsplit("/", 1)[-1]: value for term, value in first.dwc.items()}
    assert "ScientificName" in terms and terms["ScientificName"]
    assert first.files == []


def test_archive_folder_with_remote_media_has_no_files_to_upload():
    records = read_source(DWCA / "gbif-dwca-io" / "csv-json-escaped-quotes")
    assert len(records) == 1
    assert records[0].files == []
    assert any("dynamicProperties" in term for term in records[0].dwc)


def test_archive_with_images_inside(tmp_path):
    archive = tmp_path / "with-images.zip"
    meta = """<archive xmlns="http://rs.tdwg.org/dwc/text/">
      <core rowType="http://rs.tdwg.org/dwc/terms/Occurrence" fieldsTerminatedBy=","
            ignoreHeaderLines="1">
        <files><location>occurrence.csv</location></files>
        <id index="0"/>
        <field index="1" term="http://rs.tdwg.org/dwc/terms/catalogNumber"/>
      </core>
      <extension rowType="http://rs.gbif.org/terms/1.0/Multimedia" fieldsTerminatedBy=","
                 ignoreHeaderLines="1">
        <files><location>multimedia.csv</location></files>
        <coreid index="0"/>
        <field index="1" term="http://purl.org/dc/terms/identifier"/>
      </extension>
    </archive>"""
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("export/meta.xml", meta)
        out.writestr("export/occurrence.csv", "id,catalogNumber\no1,B-1\no2,B-2\n")
        out.writestr("export/multimedia.csv", "coreid,identifier\no1,images/a.jpg\n")
        out.write(SHEETS / "19956.jpg", "export/images/a.jpg")
    records = read_source(archive)
    assert [r.key for r in records] == ["B-1", "B-2"]
    (image,) = records[0].files
    assert (image.key, image.size) == ("a.jpg", (SHEETS / "19956.jpg").stat().st_size)
    assert image.read(0, 10) == (SHEETS / "19956.jpg").read_bytes()[:10]
    assert image.read(100, 5) == (SHEETS / "19956.jpg").read_bytes()[100:105]
    assert records[1].files == []


def test_folder_with_csv_naming_images(tmp_path):
    for name in ("19956.jpg", "103272.jpg"):
        (tmp_path / name).write_bytes((SHEETS / name).read_bytes())
    with open(tmp_path / "sheets.csv", "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["occurrenceID", "catalogNumber", "file"])
        writer.writerow(["urn:x:1", "19956", "19956.jpg"])
        writer.writerow(["urn:x:2", "103272", ""])  # found by catalogue number
    records = read_source(tmp_path)
    assert [r.key for r in records] == ["urn:x:1", "urn:x:2"]
    assert [[f.key for f in r.files] for r in records] == [["19956.jpg"], ["103272.jpg"]]
    assert "file" not in records[0].dwc


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([["occurrenceID", "file"], ["urn:x:1", "missing.jpg"]], "not found"),
        ([["occurrenceID"], ["urn:x:1"], ["urn:x:1"]], "lines 2 and 3"),
        ([["scientificName"], ["Quercus robur"]], "no id"),
    ],
)
def test_folder_problems_name_the_line(tmp_path, rows, message):
    with open(tmp_path / "s.csv", "w", newline="") as out:
        csv.writer(out).writerows(rows)
    with pytest.raises(SourceError, match=message):
        read_source(tmp_path)


def test_broken_inputs(tmp_path):
    with pytest.raises(SourceError, match="no such file"):
        read_source(tmp_path / "nothing.zip")
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    with pytest.raises(SourceError, match="not a zip"):
        read_source(tmp_path / "bad.zip")
    malformed = DWCA / "python-dwca-reader" / "dwca-malformed-descriptor"
    with pytest.raises(SourceError, match="columns"):
        read_source(malformed)
