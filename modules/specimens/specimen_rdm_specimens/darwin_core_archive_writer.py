"""Writing Darwin Core Archives: an occurrence core, an Audubon Core multimedia extension, EML.

Values are written tab-separated and enclosed in double quotes wherever they hold a tab, a line
break or a quote (meta.xml declares `fieldsEnclosedBy='"'`), so every value survives a round
trip through `darwin_core_archive.open_source`. The columns are the union of the terms present,
which is known only after the last row; rows are therefore spooled to a temporary file (not
held in memory) before the zip is written.
"""

import csv
import io
import json
import posixpath
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import BinaryIO, TextIO
from xml.etree.ElementTree import Element, SubElement, tostring

from .darwin_core_terms import AC_NAMESPACE, DC_TERMS_NAMESPACE, DWC_NAMESPACE

META_FILE = "meta.xml"
EML_FILE = "eml.xml"
CORE_FILE = "occurrence.txt"
MEDIA_FILE = "multimedia.txt"
TEXT_GUIDE_NAMESPACE = "http://rs.tdwg.org/dwc/text/"
EML_NAMESPACE = "eml://ecoinformatics.org/eml-2.1.1"
OCCURRENCE_ROW_TYPE = "http://rs.tdwg.org/dwc/terms/Occurrence"
MULTIMEDIA_ROW_TYPE = "http://rs.tdwg.org/ac/terms/Multimedia"

TERM_NAMESPACES = {"dwc": DWC_NAMESPACE, "dcterms": DC_TERMS_NAMESPACE, "ac": AC_NAMESPACE}
"""Prefixes an `ExportRow` may use, in the order their columns are written."""

CORE_TERMS_FIRST = ("dwc:occurrenceID",)
MEDIA_TERMS_FIRST = ("ac:accessURI", "dcterms:identifier", "dcterms:format", "dcterms:title")

_RESERVED_NAMES = frozenset({META_FILE, EML_FILE, CORE_FILE, MEDIA_FILE})
_TEXT_FILE_ATTRIBUTES = {
    "encoding": "UTF-8",
    # meta.xml spells separators as backslash escapes, as the DwC text guide does.
    "fieldsTerminatedBy": "\\t",
    "linesTerminatedBy": "\\n",
    "fieldsEnclosedBy": '"',
    "ignoreHeaderLines": "1",
}


@dataclass
class ExportRow:
    """One occurrence to write: its core id, `dwc:` values and media rows (`ac:`/`dcterms:`)."""

    core_id: str
    values: dict[str, str]
    media: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class WrittenArchive:
    """What `write_archive` wrote: row counts and the columns of each file."""

    core_rows: int
    media_rows: int
    core_terms: tuple[str, ...]
    media_terms: tuple[str, ...]


def term_uri(term: str) -> str:
    """Full URI of a `prefix:name` term; URIs (terms of other vocabularies) pass unchanged."""
    if "://" in term:
        return term
    prefix, _, name = term.partition(":")
    if prefix not in TERM_NAMESPACES or not name:
        raise ValueError(f"term {term!r}: expected dwc:, dcterms:, ac: or a full term URI")
    return TERM_NAMESPACES[prefix] + name


def _column_order(terms: set[str], first: tuple[str, ...]) -> tuple[str, ...]:
    """`first` terms present, then the rest by vocabulary (dwc, dcterms, ac, URIs) and name."""
    ranks = {prefix: rank for rank, prefix in enumerate(TERM_NAMESPACES)}

    def key(term: str) -> tuple[int, str]:
        prefix = term.partition(":")[0]
        return (len(ranks) if "://" in term else ranks.get(prefix, len(ranks)), term)

    leading = tuple(term for term in first if term in terms)
    return leading + tuple(sorted(terms - set(leading), key=key))


def _checked(values: Mapping[str, str], core_id: str) -> dict[str, str]:
    for term, value in values.items():
        term_uri(term)
        if not isinstance(value, str):
            raise TypeError(f"core id {core_id!r}, {term}: value {value!r} is not a string")
    return {term: value for term, value in values.items() if value != ""}


class _Spool:
    """Core and media rows as JSON lines on disk, with the terms seen so far."""

    def __init__(self, core: TextIO, media: TextIO) -> None:
        """Spool into two open temporary text files."""
        self.core = core
        self.media = media
        self.core_terms: set[str] = set()
        self.media_terms: set[str] = set()
        self.core_rows = 0
        self.media_rows = 0
        self._ids: set[str] = set()

    def add(self, row: ExportRow) -> None:
        """Check and store one row."""
        if not isinstance(row.core_id, str) or not row.core_id.strip():
            raise ValueError(f"row {self.core_rows + 1}: core id {row.core_id!r} is empty")
        if row.core_id in self._ids:
            raise ValueError(f"core id {row.core_id!r} occurs twice; core ids must be unique")
        self._ids.add(row.core_id)
        values = _checked(row.values, row.core_id)
        self.core_terms.update(values)
        self.core.write(json.dumps([row.core_id, values]) + "\n")
        self.core_rows += 1
        for media in row.media:
            media = _checked(media, row.core_id)
            self.media_terms.update(media)
            self.media.write(json.dumps([row.core_id, media]) + "\n")
            self.media_rows += 1

    def rows(self, stream: TextIO) -> Iterator[tuple[str, dict[str, str]]]:
        """Read a spooled file back from its start."""
        stream.seek(0)
        for line in stream:
            core_id, values = json.loads(line)
            yield core_id, values


def _write_table(
    archive: zipfile.ZipFile,
    name: str,
    key_header: str,
    terms: tuple[str, ...],
    rows: Iterator[tuple[str, dict[str, str]]],
) -> None:
    """One tab-separated data file: key column, then one column per term."""
    with archive.open(name, "w", force_zip64=True) as binary:
        text = io.TextIOWrapper(binary, encoding="utf-8", newline="")
        dialect = {"delimiter": "\t", "quotechar": '"', "lineterminator": "\n"}
        writer = csv.writer(text, quoting=csv.QUOTE_MINIMAL, **dialect)
        # QUOTE_MINIMAL leaves a lone carriage return unquoted when lines end in "\n";
        # rows holding one are written fully quoted instead.
        quoting_writer = csv.writer(text, quoting=csv.QUOTE_ALL, **dialect)
        writer.writerow([key_header, *(posixpath.basename(term_uri(t)) for t in terms)])
        for key, values in rows:
            record = [key, *(values.get(term, "") for term in terms)]
            (quoting_writer if "\r" in "".join(record) else writer).writerow(record)
        text.flush()
        text.detach()


def _table_element(parent: Element, kind: str, row_type: str, location: str, terms) -> None:
    table = SubElement(parent, kind, {**_TEXT_FILE_ATTRIBUTES, "rowType": row_type})
    SubElement(SubElement(table, "files"), "location").text = location
    SubElement(table, "id" if kind == "core" else "coreid", {"index": "0"})
    for index, term in enumerate(terms, 1):
        SubElement(table, "field", {"index": str(index), "term": term_uri(term)})


def meta_xml(core_terms: tuple[str, ...], media_terms: tuple[str, ...]) -> bytes:
    """The archive descriptor: the occurrence core and, if any media, the multimedia extension."""
    archive = Element("archive", {"xmlns": TEXT_GUIDE_NAMESPACE, "metadata": EML_FILE})
    _table_element(archive, "core", OCCURRENCE_ROW_TYPE, CORE_FILE, core_terms)
    if media_terms:
        _table_element(archive, "extension", MULTIMEDIA_ROW_TYPE, MEDIA_FILE, media_terms)
    return tostring(archive, encoding="utf-8", xml_declaration=True)


def eml_xml(title: str, creator: str, published: date) -> bytes:
    """A minimal EML 2.1.1 document: title, creator, publication date and contact."""
    root = Element(
        "eml:eml",
        {
            "xmlns:eml": EML_NAMESPACE,
            "packageId": str(uuid.uuid4()),
            "system": "http://specimen-rdm",
            "scope": "system",
            "xml:lang": "en",
        },
    )
    dataset = SubElement(root, "dataset")
    SubElement(dataset, "title").text = title
    SubElement(SubElement(dataset, "creator"), "organizationName").text = creator
    SubElement(dataset, "pubDate").text = published.isoformat()
    SubElement(SubElement(dataset, "contact"), "organizationName").text = creator
    return tostring(root, encoding="utf-8", xml_declaration=True)


def _media_name(name: str) -> str:
    normal = posixpath.normpath(name.replace("\\", "/"))
    if (
        normal.startswith(("/", "../"))
        or normal in (".", "..")
        or normal in _RESERVED_NAMES
        or ":" in normal.split("/")[0]
    ):
        raise ValueError(f"media file name {name!r} is not a plain relative path in the archive")
    return normal


def write_archive(
    rows: Iterable[ExportRow],
    target: BinaryIO,
    *,
    title: str,
    media: Mapping[str, Path | bytes] | None = None,
    creator: str = "Specimen RDM",
    published: date | None = None,
) -> WrittenArchive:
    """Write `rows` to `target` as a zipped Darwin Core Archive.

    `media` embeds files in the archive (archive path → file or bytes); a media row whose
    `ac:accessURI` names such a path resolves to the embedded file when the archive is read.
    Raises ValueError/TypeError, before anything is written, for a row that cannot be written
    faithfully (unknown term prefix, non-string value, empty or repeated core id).
    """
    embedded = {_media_name(name): content for name, content in (media or {}).items()}
    with (
        tempfile.TemporaryFile("w+", encoding="utf-8") as core_spool,
        tempfile.TemporaryFile("w+", encoding="utf-8") as media_spool,
    ):
        spool = _Spool(core_spool, media_spool)
        for row in rows:
            spool.add(row)
        core_terms = _column_order(spool.core_terms, CORE_TERMS_FIRST)
        media_terms = _column_order(spool.media_terms, MEDIA_TERMS_FIRST)
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(META_FILE, meta_xml(core_terms, media_terms))
            archive.writestr(EML_FILE, eml_xml(title, creator, published or date.today()))
            _write_table(archive, CORE_FILE, "id", core_terms, spool.rows(spool.core))
            if media_terms:
                _write_table(archive, MEDIA_FILE, "coreid", media_terms, spool.rows(spool.media))
            for name, content in embedded.items():
                _embed(archive, name, content)
    return WrittenArchive(spool.core_rows, spool.media_rows, core_terms, media_terms)


def _embed(archive: zipfile.ZipFile, name: str, content: Path | bytes) -> None:
    if isinstance(content, bytes):
        archive.writestr(name, content)
        return
    with Path(content).open("rb") as source, archive.open(name, "w", force_zip64=True) as copy:
        shutil.copyfileobj(source, copy)
