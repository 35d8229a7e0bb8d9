"""Reading real Darwin Core Archives / DwC text and synthetic broken ones, row by row."""

import json
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from specimen_rdm_specimens.darwin_core_archive import (
    ArchiveError,
    CoreRow,
    DarwinCoreSource,
    RowError,
    open_source,
)

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "dwca"
ARCHIVE_OCC = SHARED / "gbif-dwca-io" / "archive-occ.zip"
MOBOT = SHARED / "gbif-dwca-io" / "MOBOTDarwinCore.csv"
NHM = SHARED / "gbif-dwca-io" / "csv-json-escaped-quotes"
MALFORMED = SHARED / "python-dwca-reader" / "dwca-malformed-descriptor"

DWC = "http://rs.tdwg.org/dwc/terms/"
TEXT_FILE = (
    'encoding="UTF-8" fieldsTerminatedBy="\\t" linesTerminatedBy="\\n" fieldsEnclosedBy="" '
    'ignoreHeaderLines="1"'
)
CORE = f"""<core {TEXT_FILE} rowType="{DWC}Occurrence">
    <files><location>occurrence.txt</location></files>
    <id index="0"/>
    <field index="1" term="{DWC}scientificName"/>
    <field index="2" term="{DWC}catalogNumber"/>
    <field term="{DWC}basisOfRecord" default="PreservedSpecimen"/>
  </core>"""
MULTIMEDIA = f"""<extension {TEXT_FILE} rowType="http://rs.tdwg.org/ac/terms/Multimedia">
    <files><location>multimedia.txt</location></files>
    <coreid index="0"/>
    <field index="1" term="http://rs.tdwg.org/ac/terms/accessURI"/>
    <field index="2" term="http://purl.org/dc/terms/format"/>
  </extension>"""
OCCURRENCES = (
    "id\tscientificName\tcatalogNumber\nA1\tQuercus robur L.\tK-1\nA2\tFagus sylvatica L.\tK-2\n"
)


def build_archive(folder: Path, files: dict[str, str | bytes], *, extensions: str = "") -> Path:
    """An unpacked archive: meta.xml with our core (and `extensions`), plus `files`."""
    folder.mkdir(parents=True, exist_ok=True)
    meta = f'<archive xmlns="http://rs.tdwg.org/dwc/text/">\n  {CORE}\n  {extensions}\n</archive>'
    files = {"meta.xml": meta, "occurrence.txt": OCCURRENCES, **files}
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def zip_folder(folder: Path, target: Path, *, inside: str = "") -> Path:
    """Zip a folder's files, under the subfolder `inside` when given."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{inside}{path.relative_to(folder).as_posix()}")
    return target


def read(source: DarwinCoreSource) -> list[CoreRow]:
    return list(source)


# --- the real sample files -------------------------------------------------------------------


def test_pre_standard_zip_archive_reads_every_row_under_ratified_terms():
    source = open_source(ARCHIVE_OCC)
    rows = read(source)

    assert source.row_count() == len(rows) == 1534
    assert [row.row_number for row in rows] == list(range(1, 1535))
    assert all(row.file == "DarwinCore.txt" and not row.errors for row in rows)
    first = rows[0]
    assert first.core_id == "3170b210-6254-43d3-9740-de18b261b594"
    assert first.values["dwc:scientificName"] == "Ballota acetabulosa (L.) Benth."
    assert first.values["dwc:recordedBy"] == "Markus Döring"  # 2009 term "Collector"
    assert first.values["dwc:eventDate"] == "1999-06-18 00:00:00.0"  # "EarliestDateCollected"
    assert first.values["dwc:basisOfRecord"] == "PreservedSpecimen"
    assert first.values["http://ipt.gbif.org/terms/sourceID"] == "1"  # unknown namespace kept
    assert "dwc:infraspecificEpithet" not in first.values  # empty value dropped
    assert all(not term.startswith(f"{DWC}") for row in rows for term in row.values)
    assert source.metadata["title"] == "PonTaurus"
    assert source.errors == [] and source.media_tables == []


def test_mobot_csv_is_tab_separated_and_its_bom_is_dropped():
    source = open_source(MOBOT)
    rows = read(source)

    assert source.core.delimiter == "\t"
    assert source.row_count() == len(rows) == 3
    assert [row.core_id for row in rows] == ["MO:Tropicos:1", "MO:Tropicos:2", "MO:Tropicos:3"]
    assert rows[0].values["dwc:catalogNumber"] == "1"  # the first header cell, BOM removed
    assert rows[1].values["dwc:recordedBy"] == "J.D. & E.G. Chapman"
    assert rows[2].values["dwc:decimalLatitude"] == "-16.25"
    assert "dwc:county" not in rows[0].values
    assert all(not row.errors and row.file == "MOBOTDarwinCore.csv" for row in rows)


def assert_nhm(source: DarwinCoreSource) -> None:
    (row,) = read(source)
    assert row.core_id == "779" and not row.errors and not source.errors
    properties = json.loads(row.values["dwc:dynamicProperties"])
    assert (
        properties["cataloguedescription"]
        == 'Very worn vertebra. Old catalogue says "fragments of bone".'
    )
    assert row.values["dwc:occurrenceID"] == "13785542-2dc5-43bc-9cbf-59a35ff111f9"
    assert row.values["dwc:locality"] == "Cambridge, Cambridge"
    assert len(row.media) == 4
    assert [m.row_number for m in row.media] == [1, 2, 3, 4]
    assert row.media[0].file == "multimedia.csv"
    assert row.media[0].values["dcterms:identifier"].startswith("http://www.nhm.ac.uk/")
    assert row.media[0].values["dcterms:type"] == "StillImage"
    assert all(media.local_path is None for media in row.media)  # URLs, not archive files


def test_nhm_directory_archive_keeps_escaped_json_and_attaches_multimedia():
    assert_nhm(open_source(NHM))


def test_nhm_archive_zipped_in_a_subfolder_beside_macos_junk_reads_the_same(tmp_path):
    target = zip_folder(NHM, tmp_path / "nhm.zip", inside="nhm-export/")
    with zipfile.ZipFile(target, "a") as archive:
        archive.writestr("__MACOSX/nhm-export/._meta.xml", b"\x00\x05\x16\x07junk")
        archive.writestr("nhm-export/.DS_Store", b"\x00\x00\x00\x01Bud1")

    assert_nhm(open_source(target))


def test_malformed_descriptor_reports_every_row_with_its_column_count():
    source = open_source(MALFORMED)
    rows = read(source)

    assert source.row_count() == len(rows) == 4
    for number, row in enumerate(rows, 1):
        assert row.values == {}  # not misaligned: nothing is read from a row that does not fit
        assert row.errors == [
            RowError(
                "occurrence.txt",
                number,
                None,
                f"row {number} has 234 columns, occurrence.txt declares 235",
            )
        ]
    assert rows[0].core_id == "870155363"


# --- synthetic archives: rows ----------------------------------------------------------------


def test_default_only_field_and_media_file_inside_the_folder(tmp_path):
    folder = build_archive(
        tmp_path / "archive",
        {
            "multimedia.txt": "coreid\taccessURI\tformat\nA1\timages/a1.jpg\timage/jpeg\n",
            "images/a1.jpg": b"\xff\xd8jpeg",
        },
        extensions=MULTIMEDIA,
    )

    first, second = read(open_source(folder))

    assert first.values == {
        "dwc:scientificName": "Quercus robur L.",
        "dwc:catalogNumber": "K-1",
        "dwc:basisOfRecord": "PreservedSpecimen",
    }
    assert first.media[0].values == {
        "ac:accessURI": "images/a1.jpg",
        "dcterms:format": "image/jpeg",
    }
    assert first.media[0].local_path.read_bytes() == b"\xff\xd8jpeg"
    assert not first.errors and second.media == [] and not second.errors


def test_media_inside_a_zip_is_extracted_for_the_row_and_removed_on_close(tmp_path):
    folder = build_archive(
        tmp_path / "archive",
        {"multimedia.txt": "coreid\taccessURI\tformat\nA2\ta2.png\timage/png\n", "a2.png": b"png"},
        extensions=MULTIMEDIA,
    )
    with open_source(zip_folder(folder, tmp_path / "a.zip")) as source:
        _, second = read(source)
        path = second.media[0].local_path
        assert path.read_bytes() == b"png"
    assert not path.exists()


def test_extension_rows_with_empty_or_unknown_core_id_are_reported_on_the_source(tmp_path):
    multimedia = (
        "coreid\taccessURI\tformat\n\thttp://x.org/1.jpg\timage/jpeg\nZZ\thttp://x.org/2.jpg\t\n"
    )
    folder = build_archive(tmp_path / "a", {"multimedia.txt": multimedia}, extensions=MULTIMEDIA)
    source = open_source(folder)

    rows = read(source)

    assert all(not row.media and not row.errors for row in rows)
    assert source.errors == [
        RowError("multimedia.txt", 1, "coreid", "the extension row has an empty core id"),
        RowError("multimedia.txt", 2, "coreid", "core id 'ZZ' matches no core row"),
    ]


def test_media_file_named_but_missing_is_an_error_of_its_core_row(tmp_path):
    multimedia = "coreid\taccessURI\tformat\nA1\tmissing.jpg\timage/jpeg\n"
    folder = build_archive(tmp_path / "a", {"multimedia.txt": multimedia}, extensions=MULTIMEDIA)

    first, second = read(open_source(folder))

    assert first.media[0].local_path is None
    assert first.errors == [
        RowError(
            "multimedia.txt", 1, "ac:accessURI", "media file 'missing.jpg' is not in the archive"
        )
    ]
    assert not second.errors


def test_media_path_outside_the_archive_is_refused(tmp_path):
    (tmp_path / "secret.jpg").write_bytes(b"not yours")
    multimedia = "coreid\taccessURI\tformat\nA1\t../secret.jpg\timage/jpeg\nA2\t/etc/x.jpg\t\n"
    folder = build_archive(tmp_path / "a", {"multimedia.txt": multimedia}, extensions=MULTIMEDIA)

    first, second = read(open_source(folder))

    assert first.media[0].local_path is None and second.media[0].local_path is None
    assert "points outside the archive" in first.errors[0].reason
    assert "points outside the archive" in second.errors[0].reason


def test_rows_with_too_many_or_too_few_columns_are_reported_not_misaligned(tmp_path):
    occurrences = (
        "id\tscientificName\tcatalogNumber\n"
        "A1\tQuercus robur L.\tK-1\textra\n"
        "A2\tFagus sylvatica L.\n"
        "A3\tAcer campestre L.\tK-3\t\n"  # a trailing empty column is harmless
        "\n"
        "A4\tBetula pendula Roth\tK-4\n"
    )
    folder = build_archive(tmp_path / "a", {"occurrence.txt": occurrences})
    source = open_source(folder)

    rows = read(source)

    assert [(row.row_number, row.core_id) for row in rows] == [
        (1, "A1"),
        (2, "A2"),
        (3, "A3"),
        (5, "A4"),  # row 4 is blank: skipped, but the numbering still matches the file
    ]
    assert [str(e) for e in rows[0].errors] == [
        "occurrence.txt row 1: row 1 has 4 columns, occurrence.txt declares 3"
    ]
    assert rows[1].errors[0].reason == "row 2 has 2 columns, occurrence.txt declares 3"
    assert rows[0].values == rows[1].values == {}
    assert not rows[2].errors and rows[2].values["dwc:catalogNumber"] == "K-3"
    assert source.row_count() == 4


def test_unclosed_quote_is_reported_on_its_row(tmp_path):
    text = 'catalogNumber,scientificName\nK-1,"Quercus robur\nK-2,Fagus sylvatica\n'
    (tmp_path / "specimens.csv").write_text(text)

    (row,) = read(open_source(tmp_path / "specimens.csv"))

    assert "never closed" in row.errors[0].reason and row.row_number == 1


def test_bytes_that_are_not_utf8_are_reported_per_field(tmp_path):
    occurrences = OCCURRENCES.encode() + b"A3\tSorbus aucuparia L.\tK-\xe93\n"
    folder = build_archive(tmp_path / "a", {"occurrence.txt": occurrences})

    rows = read(open_source(folder))

    assert rows[2].errors == [
        RowError("occurrence.txt", 3, "dwc:catalogNumber", "holds bytes that are not UTF-8")
    ]


def test_repeated_core_id_is_reported(tmp_path):
    folder = build_archive(tmp_path / "a", {"occurrence.txt": OCCURRENCES + "A1\tTilia L.\tK-9\n"})

    rows = read(open_source(folder))

    assert rows[2].errors[0].reason == "core id 'A1' is also the id of row 1"


# --- plain CSV / TSV -------------------------------------------------------------------------


def test_semicolon_csv_with_associated_media_beside_it(tmp_path):
    (tmp_path / "sheet-1.jpg").write_bytes(b"jpg")
    (tmp_path / "specimens.csv").write_text(
        "catalogNumber;scientificName;Collector;associatedMedia\n"
        'K-1;"Quercus robur L.; var. x";Hooker;sheet-1.jpg | https://x.org/2.jpg\n'
        "K-2;Fagus sylvatica L.;Hooker;sheet-2.jpg\n",
        encoding="utf-8",
    )
    source = open_source(tmp_path / "specimens.csv")

    first, second = read(source)

    assert source.core.delimiter == ";"
    assert first.values["dwc:scientificName"] == "Quercus robur L.; var. x"
    assert first.values["dwc:recordedBy"] == "Hooker"
    assert first.core_id is None  # no occurrenceID column
    assert [m.local_path for m in first.media] == [tmp_path / "sheet-1.jpg", None]
    assert not first.errors
    assert second.errors == [
        RowError(
            "specimens.csv",
            2,
            "dwc:associatedMedia",
            "media file 'sheet-2.jpg' is not in the archive",
        )
    ]

    unresolved = read(open_source(tmp_path / "specimens.csv", media_beside_csv=False))
    assert [m.local_path for m in unresolved[0].media] == [None, None]
    assert not unresolved[1].errors


def test_utf16_tab_separated_spreadsheet_export(tmp_path):
    text = "occurrenceID\tscientificName\r\nX-1\tLinnaea borealis L.\r\n"
    (tmp_path / "export.txt").write_bytes(text.encode("utf-16"))

    (row,) = read(open_source(tmp_path / "export.txt"))

    assert row.core_id == "X-1" and row.values["dwc:scientificName"] == "Linnaea borealis L."


def test_zip_without_meta_xml_reads_its_single_csv(tmp_path):
    target = tmp_path / "upload.zip"
    with zipfile.ZipFile(target, "w") as archive:
        archive.write(MOBOT, "data/MOBOTDarwinCore.csv")

    assert len(read(open_source(target))) == 3


def test_plain_csv_without_a_header_row_is_refused(tmp_path):
    (tmp_path / "rows.csv").write_text(
        "K-1,Quercus robur L.,Hooker\nK-2,Fagus sylvatica L.,Hooker\n"
    )

    with pytest.raises(ArchiveError, match="rows.csv: the first row is not a header"):
        open_source(tmp_path / "rows.csv")


# --- structural problems ---------------------------------------------------------------------


def test_zip_members_with_absolute_or_parent_paths_are_refused(tmp_path):
    for name in ("../../evil.txt", "/etc/evil.txt"):
        target = zip_folder(NHM, tmp_path / "evil.zip")
        with zipfile.ZipFile(target, "a") as archive:
            archive.writestr(zipfile.ZipInfo(name), b"x")

        with pytest.raises(ArchiveError, match="absolute path or climbs out"):
            open_source(target)


def test_zip_whose_members_unpack_beyond_the_limit_is_refused(tmp_path):
    folder = build_archive(tmp_path / "a", {"padding.bin": b"\x00" * 100_000})
    target = zip_folder(folder, tmp_path / "bomb.zip")
    assert target.stat().st_size < 5_000  # the limit is on what members unpack to

    assert len(read(open_source(target))) == 2
    with pytest.raises(ArchiveError, match="more than the limit of 50000 bytes") as raised:
        open_source(target, max_uncompressed_bytes=50_000)
    assert raised.value.file == "bomb.zip"


def test_malformed_meta_xml_names_the_line(tmp_path):
    folder = build_archive(tmp_path / "a", {})
    (folder / "meta.xml").write_text('<archive>\n  <core rowType="x">\n</archive>\n')

    with pytest.raises(ArchiveError, match=r"meta.xml: is not well-formed XML .*line 3"):
        open_source(folder)


def test_meta_xml_naming_a_missing_data_file_is_refused(tmp_path):
    folder = build_archive(tmp_path / "a", {})
    (folder / "occurrence.txt").unlink()

    with pytest.raises(ArchiveError, match="occurrence.txt: meta.xml names this data file"):
        open_source(folder)


def test_core_that_is_not_an_occurrence_is_refused(tmp_path):
    folder = build_archive(tmp_path / "a", {})
    meta = (folder / "meta.xml").read_text().replace(f"{DWC}Occurrence", f"{DWC}Taxon")
    (folder / "meta.xml").write_text(meta)

    with pytest.raises(ArchiveError, match="Taxon is not an occurrence"):
        open_source(folder)


def test_meta_xml_mapping_columns_beyond_the_header_is_refused(tmp_path):
    folder = build_archive(tmp_path / "a", {"occurrence.txt": "id\tscientificName\nA1\tTilia L.\n"})

    with pytest.raises(ArchiveError, match="maps column 2 .* header row has only 2 columns"):
        open_source(folder)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("broken.zip", b"PK\x03\x04 truncated", "not a readable zip archive"),
        ("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "neither a zip archive nor a text"),
        ("empty.csv", b"", "is empty"),
    ],
)
def test_files_that_are_neither_archives_nor_text_are_refused(tmp_path, name, content, reason):
    (tmp_path / name).write_bytes(content)

    with pytest.raises(ArchiveError, match=reason) as raised:
        open_source(tmp_path / name)
    assert isinstance(raised.value, ValueError) and raised.value.file == name


def test_folder_without_meta_xml_or_data_file_is_refused(tmp_path):
    (tmp_path / "notes.md").write_text("nothing here")

    with pytest.raises(ArchiveError, match="no meta.xml and no single CSV/TSV"):
        open_source(tmp_path)


def test_other_extensions_are_listed_but_not_read(tmp_path):
    identification = f"""<extension {TEXT_FILE} rowType="{DWC}Identification">
    <files><location>identification.txt</location></files>
    <coreid index="0"/>
    <field index="1" term="{DWC}identifiedBy"/>
  </extension>"""
    folder = build_archive(
        tmp_path / "a",
        {"identification.txt": "coreid\tidentifiedBy\nNOPE\tHooker\n"},
        extensions=identification,
    )
    source = open_source(folder)

    rows = read(source)

    assert [spec.file for spec in source.ignored_extensions] == ["identification.txt"]
    assert all(not row.errors for row in rows) and source.errors == []


def test_core_rows_are_streamed_not_held(tmp_path):
    rows = "".join(f"X{i}\tTaxon {i} {'x' * 2000}\tK-{i}\n" for i in range(10_000))
    folder = build_archive(tmp_path / "a", {"occurrence.txt": OCCURRENCES + rows})
    source = open_source(folder)

    tracemalloc.start()
    try:
        count = sum(1 for _ in source)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert count == 10_002
    # Only the core ids (for the repeated-id check) stay in memory, not the rows.
    assert peak < (folder / "occurrence.txt").stat().st_size / 5
