"""Reading what to upload: a Darwin Core Archive, or a folder of images with a CSV.

Both give `SourceRecord`s: the client's idempotency key, the Darwin Core values (named as the
source names them: term URIs or bare names; the server maps them to its terms) and the local
image files. Images are files of the archive named by the Multimedia / Audubon Core extension
(`identifier` or `accessURI`) or by `associatedMedia`; in a folder, the CSV names them in a
`file` column (or `associatedMedia`), or an image named after the catalogue number is used.
"""

import csv
import hashlib
import io
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

CHUNK = 1024 * 1024
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".jp2", ".webp")
KEY_TERMS = ("occurrenceID", "catalogNumber", "id")
MEDIA_ROW_TYPES = ("multimedia", "audubon", "media", "image")
FILE_COLUMNS = ("file", "filename", "image", "images")


class SourceError(ValueError):
    """The input cannot be read; the message says where and why."""


@dataclass
class LocalFile:
    """An image to upload: a file on disk or a member of a zip archive."""

    key: str
    path: str
    member: str | None = None
    size: int = 0

    def sha256(self) -> str:
        """Hex SHA-256 of the file's bytes."""
        digest = hashlib.sha256()
        if self.member is None:
            with open(self.path, "rb") as stream:
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
        else:
            with zipfile.ZipFile(self.path) as archive, archive.open(self.member) as stream:
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
        return digest.hexdigest()

    def read(self, offset: int, length: int) -> bytes:
        """`length` bytes from `offset` (a zip member is read forward to the offset)."""
        if self.member is None:
            with open(self.path, "rb") as stream:
                stream.seek(offset)
                return stream.read(length)
        with zipfile.ZipFile(self.path) as archive, archive.open(self.member) as stream:
            stream.seek(offset)
            return stream.read(length)

    @property
    def source(self) -> str:
        """Where the file is, as one string (journal key)."""
        return f"{self.path}!{self.member}" if self.member else self.path


@dataclass
class SourceRecord:
    """One record to deposit."""

    key: str
    line: int
    dwc: dict
    files: list[LocalFile] = field(default_factory=list)


def _local_name(term: str) -> str:
    return term.rstrip("/").rsplit("/", 1)[-1].split(":")[-1]


def _key_of(values: dict, fallback: str | None) -> str | None:
    by_name = {_local_name(t).lower(): v for t, v in values.items() if v}
    for term in KEY_TERMS:
        if by_name.get(term.lower()):
            return str(by_name[term.lower()]).strip()
    return fallback


class _Files:
    """The files of an archive (zip or folder), by their path inside it."""

    def __init__(self, path: Path):
        self.path = path
        if path.is_dir():
            self.names = [
                str(PurePosixPath(p.relative_to(path))) for p in path.rglob("*") if p.is_file()
            ]
            self.zip = None
        else:
            try:
                self.zip = zipfile.ZipFile(path)
            except zipfile.BadZipFile as error:
                raise SourceError(f"{path}: not a zip archive or folder ({error})") from error
            self.names = [n for n in self.zip.namelist() if not n.endswith("/")]
        self.names = [n for n in self.names if not n.startswith("__MACOSX/")]

    def text(self, name: str, encoding: str) -> io.TextIOBase:
        if self.zip is not None:
            return io.TextIOWrapper(self.zip.open(name), encoding=encoding, newline="")
        return open(self.path / name, encoding=encoding, newline="")

    def local_file(self, name: str) -> LocalFile:
        if self.zip is not None:
            return LocalFile(
                PurePosixPath(name).name, str(self.path), name, self.zip.getinfo(name).file_size
            )
        full = self.path / name
        return LocalFile(full.name, str(full), None, full.stat().st_size)


@dataclass
class _TableSpec:
    name: str
    row_type: str
    encoding: str
    delimiter: str
    quote: str | None
    header_lines: int
    id_index: int | None
    fields: dict[int, str]
    defaults: dict[str, str]


def _unescape(value: str) -> str:
    return value.replace("\\t", "\t").replace("\\n", "\n")


def _table(element, root: str) -> _TableSpec:
    location = element.find("{*}files/{*}location")
    if location is None or not (location.text or "").strip():
        raise SourceError("meta.xml: a table has no <files><location>")
    id_element = element.find("{*}id")
    if id_element is None:
        id_element = element.find("{*}coreid")
    fields, defaults = {}, {}
    for field_element in element.findall("{*}field"):
        term = field_element.get("term", "")
        if field_element.get("index") is not None:
            fields[int(field_element.get("index"))] = term
        elif field_element.get("default") is not None:
            defaults[term] = field_element.get("default")
    quote = _unescape(element.get("fieldsEnclosedBy", '"'))
    return _TableSpec(
        name=str(PurePosixPath(root) / location.text.strip()) if root else location.text.strip(),
        row_type=element.get("rowType", ""),
        encoding=element.get("encoding", "UTF-8"),
        delimiter=_unescape(element.get("fieldsTerminatedBy", ",")),
        quote=quote or None,
        header_lines=int(element.get("ignoreHeaderLines", "0") or 0),
        id_index=int(id_element.get("index")) if id_element is not None else None,
        fields=fields,
        defaults=defaults,
    )


def _rows(files: _Files, spec: _TableSpec) -> Iterator[tuple[int, str | None, dict]]:
    if spec.name not in files.names:
        raise SourceError(f"meta.xml names {spec.name}, which is not in the archive")
    with files.text(spec.name, spec.encoding) as stream:
        reader = csv.reader(
            stream,
            delimiter=spec.delimiter,
            quotechar=spec.quote or '"',
            quoting=csv.QUOTE_MINIMAL if spec.quote else csv.QUOTE_NONE,
        )
        for number, row in enumerate(reader, start=1):
            if number <= spec.header_lines or not any(cell.strip() for cell in row):
                continue
            width = max([*spec.fields, spec.id_index or 0]) + 1
            if len(row) < width:
                raise SourceError(
                    f"{spec.name}, line {number}: {len(row)} columns, meta.xml describes {width}"
                )
            values = dict(spec.defaults)
            values.update(
                {term: row[index].lstrip("\ufeff") for index, term in spec.fields.items()}
            )
            core_id = row[spec.id_index].lstrip("\ufeff") if spec.id_index is not None else None
            yield number, core_id, values


def _media_names(values: dict) -> list[str]:
    names = []
    for term, value in values.items():
        if _local_name(term) in ("identifier", "accessURI", "associatedMedia") and value:
            names += [v.strip() for v in value.split("|") if v.strip()]
    return names


def read_archive(path: Path) -> list[SourceRecord]:
    """The records of a Darwin Core Archive (zip or unpacked folder)."""
    files = _Files(path)
    metas = [n for n in files.names if PurePosixPath(n).name == "meta.xml"]
    if not metas:
        raise SourceError(f"{path}: no meta.xml (not a Darwin Core Archive)")
    meta = sorted(metas, key=len)[0]
    root = str(PurePosixPath(meta).parent) if "/" in meta else ""
    with files.text(meta, "utf-8") as stream:
        try:
            tree = ElementTree.parse(stream)
        except ElementTree.ParseError as error:
            raise SourceError(f"{meta}: not well-formed XML ({error})") from error
    core_element = tree.getroot().find("{*}core")
    if core_element is None:
        raise SourceError(f"{meta}: no <core> table")
    core = _table(core_element, root)
    media: dict[str, list[str]] = {}
    for extension in tree.getroot().findall("{*}extension"):
        spec = _table(extension, root)
        if not any(word in spec.row_type.lower() for word in MEDIA_ROW_TYPES):
            continue
        for _, core_id, values in _rows(files, spec):
            media.setdefault(core_id or "", []).extend(_media_names(values))
    names = set(files.names)
    records = []
    for number, core_id, values in _rows(files, core):
        key = _key_of(values, core_id)
        if not key:
            raise SourceError(f"{core.name}, line {number}: no id, occurrenceID or catalogNumber")
        local = []
        for name in media.get(core_id or "", []) + _media_names(values):
            inside = str(PurePosixPath(root) / name) if root else name
            if inside in names and all(f.member != inside and f.path != inside for f in local):
                local.append(files.local_file(inside))
        records.append(SourceRecord(key, number, values, local))
    return records


def read_folder(path: Path, csv_path: Path | None = None) -> list[SourceRecord]:
    """The records of a CSV (columns = Darwin Core terms) and the images beside it."""
    if csv_path is None:
        tables = sorted(path.glob("*.csv")) + sorted(path.glob("*.tsv"))
        if len(tables) != 1:
            raise SourceError(
                f"{path}: expected exactly one .csv or .tsv file, found {len(tables)}"
            )
        csv_path = tables[0]
    images = {p.name: p for p in sorted(path.rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES}
    by_stem = {p.stem: p for p in images.values()}
    text = csv_path.read_text(encoding="utf-8-sig")
    dialect = (
        csv.excel_tab if csv_path.suffix == ".tsv" or "\t" in text.split("\n", 1)[0] else csv.excel
    )
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    records = []
    for number, row in enumerate(reader, start=2):
        values = {k.strip(): (v or "").strip() for k, v in row.items() if k}
        key = _key_of(values, None)
        if not key:
            raise SourceError(
                f"{csv_path.name}, line {number}: no id, occurrenceID or catalogNumber"
            )
        named = [values.pop(c) for c in FILE_COLUMNS if values.get(c)]
        names = [n.strip() for value in named for n in value.split("|") if n.strip()]
        names += [n for n in _media_names(values) if PurePosixPath(n).name in images]
        paths = []
        for name in names:
            candidate = path / name
            if not candidate.is_file():
                raise SourceError(f"{csv_path.name}, line {number}: image {name!r} not found")
            paths.append(candidate)
        if not paths:
            catalog = {_local_name(k).lower(): v for k, v in values.items()}.get("catalognumber")
            if catalog and catalog in by_stem:
                paths.append(by_stem[catalog])
        files = [LocalFile(p.name, str(p), None, os.path.getsize(p)) for p in dict.fromkeys(paths)]
        records.append(SourceRecord(key, number, values, files))
    return records


def read_source(path: Path, csv_path: Path | None = None) -> list[SourceRecord]:
    """Records of a Darwin Core Archive (zip, or folder with meta.xml) or of a folder + CSV."""
    path = Path(path)
    if not path.exists():
        raise SourceError(f"{path}: no such file or folder")
    if path.is_dir() and csv_path is None and not (path / "meta.xml").exists():
        records = read_folder(path)
    elif path.is_dir() and csv_path is not None:
        records = read_folder(path, csv_path)
    elif path.suffix.lower() in (".csv", ".tsv"):
        records = read_folder(path.parent, path)
    else:
        records = read_archive(path)
    seen = {}
    for record in records:
        if record.key in seen:
            raise SourceError(
                f"key {record.key!r} is on lines {seen[record.key]} and {record.line}: "
                "every record needs its own id"
            )
        seen[record.key] = record.line
    return records
