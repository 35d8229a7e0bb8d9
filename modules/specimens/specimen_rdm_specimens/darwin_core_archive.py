"""Reading Darwin Core Archives and Darwin Core text files row by row, with row-level reasons.

`open_source` accepts a zipped archive, an unpacked archive folder or a plain CSV/TSV file and
returns a `DarwinCoreSource`, which streams `CoreRow`s keyed by canonical term
(`dwc:scientificName`) with their multimedia-extension rows attached. A problem confined to one
row (wrong column count, broken quoting, undecodable bytes, a media file named but missing, an
extension row that matches no core row) becomes a `RowError` on that row or on
`source.errors`; a problem that makes the whole source unreadable raises `ArchiveError`.

The parsing is our own (stdlib `csv`, `zipfile`, `xml.etree`) rather than python-dwca-reader's
`DwCAReader`, which extracts the whole zip to disk before looking at it, does not find a
`meta.xml` in a subfolder when `__MACOSX/` lies beside it, stops the whole archive at the first
row whose column count disagrees with meta.xml, and does not read plain CSV files. Its list of
Darwin Core terms is used to recognise the header row of plain CSV files.
"""

import codecs
import csv
import io
import logging
import posixpath
import re
import shutil
import tempfile
import weakref
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit
from xml.etree.ElementTree import Element, ParseError, fromstring

from dwca.darwincore.terms import TERMS

from .darwin_core_terms import UnknownTermNamespace, canonical_term

log = logging.getLogger(__name__)

DEFAULT_MAX_UNCOMPRESSED_BYTES = 2 * 1024**3
"""Largest total uncompressed size of a zip archive's members (zip-bomb guard)."""

OCCURRENCE_ROW_TYPES = frozenset(
    {
        "http://rs.tdwg.org/dwc/terms/Occurrence",
        # Archives written before the 2009 standard (e.g. early IPT) name the core this way.
        "http://rs.tdwg.org/dwc/terms/DarwinCore",
        "http://rs.tdwg.org/dwc/xsd/simpledarwincore/SimpleDarwinRecord",
    }
)
"""Core row types read as specimen occurrences."""

MEDIA_ROW_TYPES = frozenset(
    {
        "http://rs.tdwg.org/ac/terms/Multimedia",  # Audubon Core
        "http://rs.gbif.org/terms/1.0/Multimedia",  # GBIF Simple Multimedia
    }
)
"""Extension row types whose rows become `CoreRow.media`."""

PLAIN_TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".tab")
"""Suffixes of a lone data file read as DwC text when an archive has no meta.xml."""

SNIFFED_DELIMITERS = ("\t", ",", ";")
"""Delimiters a plain text file may use, in the order that breaks ties."""

ASSOCIATED_MEDIA_SEPARATOR = "|"
"""Separator of `dwc:associatedMedia` lists, as the Darwin Core term definition recommends."""

_CSV_FIELD_LIMIT = 64 * 1024 * 1024
_SNIFF_BYTES = 64 * 1024
_META_NAMESPACE_RE = re.compile(r"^\{[^}]*\}")
_ESCAPES = {"\\t": "\t", "\\n": "\n", "\\r": "\r", "\\\\": "\\"}
_ESCAPE_RE = re.compile(r"\\[tnr\\]")
_LINE_TERMINATORS = ("\n", "\r\n", "\r")
_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_FILE_SUFFIX_RE = re.compile(r"\.[A-Za-z][A-Za-z0-9]{1,4}")
_KNOWN_HEADER_TERMS = frozenset(canonical_term(t) for t in TERMS if "rs.tdwg.org/dwc/" in t)

# csv's default 128 KiB field limit rejects long but legitimate values (JSON in
# dynamicProperties); the limit is process-wide, so it is only ever raised.
csv.field_size_limit(max(csv.field_size_limit(), _CSV_FIELD_LIMIT))


class ArchiveError(ValueError):
    """A source that cannot be read at all: the file concerned and the reason."""

    def __init__(self, file: str, reason: str) -> None:
        """Name the file and the reason in the message."""
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason


@dataclass(frozen=True)
class RowError:
    """A problem confined to one data row of one file (`field` is a canonical term or None)."""

    file: str
    row_number: int
    field: str | None
    reason: str

    def __str__(self) -> str:
        """`file row N, field: reason`."""
        where = f"{self.file} row {self.row_number}"
        return f"{where}, {self.field}: {self.reason}" if self.field else f"{where}: {self.reason}"


@dataclass
class MediaRow:
    """One multimedia-extension row (or `dwc:associatedMedia` entry) of a core row.

    `local_path` is a readable file on disk when the row's `ac:accessURI` (else its
    `dcterms:identifier`) names a file inside the archive or beside the CSV; files inside a zip
    are extracted on demand into a temporary folder that lives as long as the source.
    """

    file: str
    row_number: int
    values: dict[str, str]
    local_path: Path | None = None


@dataclass
class CoreRow:
    """One occurrence: values keyed by canonical term, its media and its problems.

    A row whose columns cannot be aligned with the declared terms has empty `values` and an
    error saying why; its `core_id` is read from the id column as far as the row reaches it.
    """

    row_number: int
    file: str
    core_id: str | None
    values: dict[str, str]
    media: list[MediaRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


@dataclass(frozen=True)
class FieldSpec:
    """A `<field>` of meta.xml: column index (None for a constant), canonical term, default."""

    index: int | None
    term: str
    default: str = ""


@dataclass(frozen=True)
class DataFileSpec:
    """How one data file is laid out: meta.xml's `<core>`/`<extension>`, or sniffed for CSV.

    `key_index` is the `<id>` (core) or `<coreid>` (extension) column. `fields` is empty for a
    plain text file, whose header row names the terms.
    """

    file: str
    row_type: str
    encoding: str = "UTF-8"
    delimiter: str = ","
    quote_char: str = '"'
    header_lines: int = 0
    key_index: int | None = None
    fields: tuple[FieldSpec, ...] = ()

    @property
    def plain(self) -> bool:
        """Whether the header row, not meta.xml, names the columns."""
        return not self.fields


def _term(name: str) -> str:
    """Canonical term of a column name; terms outside dwc/ac/dcterms keep their full URI."""
    try:
        return canonical_term(name)
    except UnknownTermNamespace:
        return name.strip()


def _unsafe_member(name: str) -> bool:
    """Whether a zip member or meta.xml location is absolute or climbs out with `..`."""
    name = name.replace("\\", "/")
    return (
        name.startswith("/") or re.match(r"^[A-Za-z]:", name) is not None or ".." in name.split("/")
    )


def _junk_member(name: str) -> bool:
    """macOS resource forks and dot-files that archivers add."""
    return any(part == "__MACOSX" or part.startswith(".") for part in name.split("/") if part)


class _ArchiveFiles:
    """The files of one source, addressed by POSIX paths relative to its root."""

    def exists(self, name: str) -> bool:
        """Whether `name` is a file of the source."""
        raise NotImplementedError

    def open_binary(self, name: str) -> BinaryIO:
        """A binary stream of the file."""
        raise NotImplementedError

    def local_path(self, name: str) -> Path:
        """A path on disk holding the file's bytes."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the files hold on disk."""


class _DirectoryFiles(_ArchiveFiles):
    """Files of an unpacked archive folder, or the folder of a plain CSV."""

    def __init__(self, root: Path) -> None:
        """Serve files below `root` only; symbolic links out of it are refused."""
        self.root = root.resolve()

    def _path(self, name: str) -> Path | None:
        path = (self.root / name).resolve()
        return path if path.is_relative_to(self.root) and path.is_file() else None

    def exists(self, name: str) -> bool:
        """Whether `name` is a file below the root."""
        return self._path(name) is not None

    def open_binary(self, name: str) -> BinaryIO:
        """Open the file for reading."""
        path = self._path(name)
        if path is None:
            raise ArchiveError(name, "is not in the archive")
        return path.open("rb")

    def local_path(self, name: str) -> Path:
        """The file itself."""
        path = self._path(name)
        if path is None:
            raise ArchiveError(name, "is not in the archive")
        return path


class _ZipFiles(_ArchiveFiles):
    """Members of a zip below one folder (the one holding meta.xml), read without extracting."""

    def __init__(
        self, path: Path, members: dict[str, zipfile.ZipInfo], lone_text_file: str | None
    ) -> None:
        """`members` maps names relative to the archive root to their zip entries.

        `lone_text_file` is the data file of an archive without meta.xml.
        """
        self.path = path
        self.members = members
        self.lone_text_file = lone_text_file
        self._extracted: Path | None = None
        self._cleanup: weakref.finalize | None = None

    def exists(self, name: str) -> bool:
        """Whether `name` is a member."""
        return name in self.members

    def open_binary(self, name: str) -> BinaryIO:
        """Stream one member; the zip's file handle closes with the member stream."""
        with zipfile.ZipFile(self.path) as archive:
            return archive.open(self.members[name])

    def local_path(self, name: str) -> Path:
        """Extract the member (once) into this source's temporary folder."""
        if self._extracted is None:
            self._extracted = Path(tempfile.mkdtemp(prefix="dwca-media-"))
            self._cleanup = weakref.finalize(
                self, shutil.rmtree, self._extracted, ignore_errors=True
            )
        target = self._extracted / name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            with self.open_binary(name) as source, target.open("wb") as copy:
                shutil.copyfileobj(source, copy)
        return target

    def close(self) -> None:
        """Remove extracted media files."""
        if self._cleanup is not None:
            self._cleanup()


def _zip_files(path: Path, max_uncompressed_bytes: int) -> _ZipFiles:
    """Check a zip's member names and sizes, and find the folder that holds meta.xml."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError) as error:
        raise ArchiveError(path.name, f"not a readable zip archive ({error})") from error
    total = 0
    for info in infos:
        if _unsafe_member(info.filename):
            raise ArchiveError(
                path.name, f"member {info.filename!r} has an absolute path or climbs out with '..'"
            )
        total += info.file_size
    if total > max_uncompressed_bytes:
        raise ArchiveError(
            path.name,
            f"unpacks to {total} bytes, more than the limit of {max_uncompressed_bytes} bytes",
        )
    members = {
        info.filename.replace("\\", "/"): info
        for info in infos
        if not info.is_dir() and not _junk_member(info.filename)
    }
    for name, info in members.items():
        if info.flag_bits & 0x1:
            raise ArchiveError(path.name, f"member {name!r} is encrypted")
    prefix, lone_text_file = _archive_root(path.name, list(members))
    return _ZipFiles(
        path,
        {name[len(prefix) :]: info for name, info in members.items() if name.startswith(prefix)},
        lone_text_file,
    )


def _archive_root(label: str, names: list[str]) -> tuple[str, str | None]:
    """The folder prefix ('' or 'sub/') holding meta.xml, or else the lone data file in it."""
    metas = [n for n in names if posixpath.basename(n).lower() == "meta.xml" and n.count("/") <= 1]
    if any("/" not in n for n in metas):
        return "", None
    if len(metas) == 1:
        return metas[0].rpartition("/")[0] + "/", None
    if metas:
        raise ArchiveError(label, f"holds several meta.xml files: {', '.join(sorted(metas))}")
    texts = [n for n in names if n.lower().endswith(PLAIN_TEXT_SUFFIXES) and n.count("/") <= 1]
    if len(texts) != 1:
        raise ArchiveError(label, "has no meta.xml and no single CSV/TSV data file")
    folder, _, name = texts[0].rpartition("/")
    return (folder + "/" if folder else ""), name


def _local(element: Element) -> str:
    return _META_NAMESPACE_RE.sub("", element.tag)


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if _local(child) == name]


def _unescape(value: str) -> str:
    """meta.xml writes separators as `\\t`, `\\n`; XML may also carry the characters."""
    return _ESCAPE_RE.sub(lambda match: _ESCAPES[match.group()], value)


def _int_attribute(element: Element, name: str, default: int | None = None) -> int | None:
    raw = element.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ArchiveError("meta.xml", f"{_local(element)} {name}={raw!r} is not a column number")
    return value


def _data_file_spec(element: Element, files: _ArchiveFiles) -> DataFileSpec:
    """Read one `<core>` or `<extension>` element and check its data file is there."""
    kind = _local(element)
    row_type = (element.get("rowType") or "").strip()
    if not row_type:
        raise ArchiveError("meta.xml", f"<{kind}> has no rowType")
    locations = [
        (loc.text or "").strip()
        for f in _children(element, "files")
        for loc in _children(f, "location")
    ]
    if not locations or not locations[0]:
        raise ArchiveError("meta.xml", f"<{kind}> {row_type} names no data file")
    location = locations[0]
    if _unsafe_member(location):
        raise ArchiveError("meta.xml", f"data file {location!r} lies outside the archive")
    location = posixpath.normpath(location.replace("\\", "/"))
    if not files.exists(location):
        raise ArchiveError(location, "meta.xml names this data file, but it is not in the archive")
    encoding = (element.get("encoding") or "UTF-8").strip()
    try:
        codecs.lookup(encoding)
    except LookupError as error:
        raise ArchiveError("meta.xml", f"<{kind}> encoding {encoding!r} is unknown") from error
    delimiter = _unescape(element.get("fieldsTerminatedBy", ","))
    quote_char = _unescape(element.get("fieldsEnclosedBy", '"'))
    terminator = _unescape(element.get("linesTerminatedBy", "\n"))
    if len(delimiter) != 1:
        raise ArchiveError("meta.xml", f"fieldsTerminatedBy {delimiter!r} is not one character")
    if len(quote_char) > 1:
        raise ArchiveError("meta.xml", f"fieldsEnclosedBy {quote_char!r} is not one character")
    if terminator not in _LINE_TERMINATORS:
        raise ArchiveError("meta.xml", f"linesTerminatedBy {terminator!r} is not supported")
    key_name = "id" if kind == "core" else "coreid"
    keys = _children(element, key_name)
    key_index = _int_attribute(keys[0], "index") if keys else None
    if kind == "extension" and key_index is None:
        raise ArchiveError("meta.xml", f"extension {location} has no <coreid index=...>")
    fields = []
    for spec in _children(element, "field"):
        term = (spec.get("term") or "").strip()
        index = _int_attribute(spec, "index")
        default = (spec.get("default") or "").strip()
        if not term:
            raise ArchiveError("meta.xml", f"a <field> of {location} has no term")
        if index is None and not default:
            raise ArchiveError(
                "meta.xml", f"field {term} of {location} has no index and no default"
            )
        fields.append(FieldSpec(index, _term(term), default))
    if not fields:
        raise ArchiveError("meta.xml", f"<{kind}> {location} declares no <field>")
    return DataFileSpec(
        file=location,
        row_type=row_type,
        encoding=encoding,
        delimiter=delimiter,
        quote_char=quote_char,
        header_lines=_int_attribute(element, "ignoreHeaderLines", 0) or 0,
        key_index=key_index,
        fields=tuple(fields),
    )


def _parse_meta(
    files: _ArchiveFiles,
) -> tuple[DataFileSpec, list[DataFileSpec], list[DataFileSpec], str | None]:
    """Core, media extensions, other extensions and the metadata file named by meta.xml."""
    with files.open_binary("meta.xml") as stream:
        raw = stream.read()
    try:
        root = fromstring(raw)
    except ParseError as error:
        raise ArchiveError("meta.xml", f"is not well-formed XML ({error})") from error
    cores = _children(root, "core")
    if len(cores) != 1:
        raise ArchiveError("meta.xml", f"declares {len(cores)} <core> elements, not one")
    core = _data_file_spec(cores[0], files)
    if core.row_type not in OCCURRENCE_ROW_TYPES:
        raise ArchiveError(
            "meta.xml", f"core rowType {core.row_type} is not an occurrence (specimen) core"
        )
    media, ignored = [], []
    for element in _children(root, "extension"):
        spec = _data_file_spec(element, files)
        (media if spec.row_type in MEDIA_ROW_TYPES else ignored).append(spec)
    if media and core.key_index is None:
        raise ArchiveError("meta.xml", "the core has extensions but no <id index=...>")
    metadata = (root.get("metadata") or "").strip() or None
    return core, media, ignored, metadata


def _read_metadata(files: _ArchiveFiles, name: str | None) -> dict[str, str]:
    """Title and publication date from the EML document, if there is a readable one."""
    name = name if name and not _unsafe_member(name) else "eml.xml"
    if "://" in name or not files.exists(name):
        return {}
    try:
        with files.open_binary(name) as stream:
            root = fromstring(stream.read())
    except ParseError as error:
        log.info("%s: metadata ignored, not well-formed XML (%s)", name, error)
        return {}
    metadata = {}
    for element in root.iter():
        tag = _local(element)
        if tag in ("title", "pubDate") and tag not in metadata and (element.text or "").strip():
            metadata[tag] = element.text.strip()
    return metadata


def _python_encoding(encoding: str) -> str:
    name = codecs.lookup(encoding).name
    return "utf-8-sig" if name == "utf-8" else name


def _sniffed_text_spec(files: _ArchiveFiles, name: str) -> DataFileSpec:
    """Encoding (from a byte-order mark) and delimiter of a plain text file."""
    with files.open_binary(name) as stream:
        sample = stream.read(_SNIFF_BYTES)
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "UTF-16"
    elif b"\x00" in sample:
        raise ArchiveError(name, "is neither a zip archive nor a text file")
    else:
        encoding = "UTF-8"
    text = sample.decode(_python_encoding(encoding), errors="replace")
    first_line = text.lstrip("\r\n").splitlines()[0] if text.strip() else ""
    if not first_line.strip():
        raise ArchiveError(name, "is empty")
    counts = {d: first_line.count(d) for d in SNIFFED_DELIMITERS}
    delimiter = max(SNIFFED_DELIMITERS, key=lambda d: counts[d])
    return DataFileSpec(
        file=name,
        row_type="http://rs.tdwg.org/dwc/terms/Occurrence",
        encoding=encoding,
        delimiter=delimiter,
        header_lines=1,
    )


def _quoting_problem(error: csv.Error) -> str:
    if "unexpected end of data" in str(error):
        return "a quoted value opened in this row is never closed (it runs to the end of the file)"
    return f"malformed quoting ({error})"


def _records(files: _ArchiveFiles, spec: DataFileSpec) -> Iterator[tuple[list[str] | None, str]]:
    """Every record of a data file (header lines included): fields, or None and a reason."""
    dialect = {"delimiter": spec.delimiter, "strict": True}
    if spec.quote_char:
        dialect["quotechar"] = spec.quote_char
    else:
        dialect["quoting"] = csv.QUOTE_NONE
    try:
        with files.open_binary(spec.file) as binary:
            text = io.TextIOWrapper(
                binary, encoding=_python_encoding(spec.encoding), errors="replace", newline=""
            )
            reader = csv.reader(text, **dialect)
            while True:
                try:
                    yield next(reader), ""
                except StopIteration:
                    return
                except csv.Error as error:
                    yield None, _quoting_problem(error)
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise ArchiveError(spec.file, f"cannot be read to the end ({error})") from error


def _blank(fields: list[str]) -> bool:
    return not "".join(fields).strip()


@dataclass(frozen=True)
class _Layout:
    """Which column holds which term in one data file, and how wide its rows must be."""

    file: str
    encoding: str
    width: int
    columns: tuple[tuple[int, str], ...]
    defaults: tuple[tuple[str, str], ...] = ()
    key_index: int | None = None
    key_term: str | None = None
    repeated_terms: frozenset[str] = frozenset()
    unnamed: tuple[int, ...] = ()

    @classmethod
    def of(cls, spec: DataFileSpec, header: list[str] | None) -> "_Layout":
        """Layout from meta.xml's fields, or from the header row of a plain text file."""
        if spec.plain:
            names = [_term(name) if name.strip() else "" for name in header or []]
            columns = tuple((i, name) for i, name in enumerate(names) if name)
            return cls(
                file=spec.file,
                encoding=spec.encoding,
                width=len(names),
                columns=columns,
                key_term="dwc:occurrenceID",
                repeated_terms=_repeated(term for _, term in columns),
                unnamed=tuple(i for i, name in enumerate(names) if not name),
            )
        indexes = [f.index for f in spec.fields if f.index is not None]
        declared = max([*indexes, spec.key_index if spec.key_index is not None else -1]) + 1
        if header is not None and len(header) < declared:
            raise ArchiveError(
                spec.file,
                f"meta.xml maps column {declared - 1} (counting from 0), "
                f"but the header row has only {len(header)} columns",
            )
        columns = tuple((f.index, f.term) for f in spec.fields if f.index is not None)
        return cls(
            file=spec.file,
            encoding=spec.encoding,
            width=len(header) if header is not None else declared,
            columns=columns,
            defaults=tuple((f.term, f.default) for f in spec.fields if f.default),
            key_index=spec.key_index,
            repeated_terms=_repeated(term for _, term in columns),
        )

    def read(self, row_number: int, fields: list[str]) -> tuple[str | None, dict, list[RowError]]:
        """Key, values by canonical term, and the row's problems."""
        if len(fields) != self.width and (
            len(fields) < self.width or not _blank(fields[self.width :])
        ):
            reason = (
                f"row {row_number} has {len(fields)} columns, {self.file} declares {self.width}"
            )
            key = None
            if self.key_index is not None and self.key_index < len(fields):
                key = fields[self.key_index].strip() or None
            return key, {}, [RowError(self.file, row_number, None, reason)]
        values: dict[str, str] = {}
        errors: list[RowError] = []
        if self.repeated_terms:
            self._read_repeated(row_number, fields, values, errors)
        else:
            for index, term in self.columns:
                value = fields[index].strip()
                if value:
                    values[term] = value
        for term, default in self.defaults:
            values.setdefault(term, default)
        for index in self.unnamed:
            if fields[index].strip():
                reason = f"column {index + 1} has no name in the header row; its value is ignored"
                errors.append(RowError(self.file, row_number, None, reason))
        if "\ufffd" in "".join(fields):
            errors.extend(
                RowError(self.file, row_number, term, f"holds bytes that are not {self.encoding}")
                for index, term in self.columns
                if "\ufffd" in fields[index]
            )
        if self.key_index is not None:
            key = fields[self.key_index].strip() or None
        else:
            key = values.get(self.key_term) if self.key_term else None
        return key, values, errors

    def _read_repeated(self, row_number, fields, values, errors) -> None:
        """Columns mapped to the same term must agree where both are filled."""
        for index, term in self.columns:
            value = fields[index].strip()
            if not value:
                continue
            if term in self.repeated_terms and values.get(term, value) != value:
                reason = f"two columns map to {term} and hold different values"
                errors.append(RowError(self.file, row_number, term, reason))
            values.setdefault(term, value)


def _repeated(terms) -> frozenset[str]:
    seen: set[str] = set()
    repeated = set()
    for term in terms:
        (repeated if term in seen else seen).add(term)
    return frozenset(repeated)


def _is_header(header: list[str]) -> bool:
    """A plain file's first row names terms when at least one cell is a Darwin Core term."""
    return any(name.strip() and _term(name) in _KNOWN_HEADER_TERMS for name in header)


def _media_reference(reference: str) -> tuple[str | None, str]:
    """Archive-relative path named by an `ac:accessURI`/`dcterms:identifier`, or a reason.

    URLs and URNs name no local file; neither do bare identifiers (GUIDs, catalogue numbers)
    that do not end in a file suffix such as `.jpg`.
    """
    reference = reference.strip().replace("\\", "/")
    scheme = _SCHEME_RE.match(reference)
    scheme = scheme.group(1).lower() if scheme else ""
    if scheme == "file":
        path = unquote(urlsplit(reference).path)
    elif len(scheme) > 1:
        return None, ""
    else:
        path = reference
        if not _FILE_SUFFIX_RE.fullmatch(posixpath.splitext(path)[1]):
            return None, ""
    normal = posixpath.normpath(path)
    if _unsafe_member(normal) or normal in (".", ""):
        return None, f"media path {reference!r} points outside the archive"
    return normal, ""


class DarwinCoreSource:
    """An opened archive or DwC text file: stream its `CoreRow`s by iterating.

    Core rows are read one at a time; the multimedia extensions are indexed by core id in
    memory. `errors` holds problems that belong to no core row (extension rows with an empty
    or unknown core id); it is complete once an iteration has run to its end.
    """

    def __init__(
        self,
        files: _ArchiveFiles,
        core: DataFileSpec,
        *,
        media_tables: list[DataFileSpec] | None = None,
        ignored_extensions: list[DataFileSpec] | None = None,
        metadata: dict[str, str] | None = None,
        resolve_media: bool = True,
    ) -> None:
        """Check the headers of the core and media files against their declarations."""
        self.files = files
        self.core = core
        self.media_tables = media_tables or []
        self.ignored_extensions = ignored_extensions or []
        self.metadata = metadata or {}
        self.resolve_media = resolve_media
        self.errors: list[RowError] = []
        self._row_count: int | None = None
        self._layouts = {spec.file: self._layout(spec) for spec in [core, *self.media_tables]}

    def __enter__(self) -> "DarwinCoreSource":
        """Use as a context manager to remove extracted media files on exit."""
        return self

    def __exit__(self, *exc_info) -> None:
        """Remove extracted media files."""
        self.close()

    def close(self) -> None:
        """Remove media files extracted from a zip (their `local_path`s stop existing)."""
        self.files.close()

    def _layout(self, spec: DataFileSpec) -> _Layout:
        header = None
        if spec.header_lines:
            records = _records(self.files, spec)
            try:
                header = next(records, (None, ""))[0]
            finally:
                records.close()
        if spec.plain and (header is None or not _is_header(header)):
            raise ArchiveError(
                spec.file,
                "the first row is not a header naming Darwin Core terms (e.g. scientificName)",
            )
        return _Layout.of(spec, header)

    def _data_rows(self, spec: DataFileSpec) -> Iterator[tuple[int, list[str] | None, str]]:
        """(row number, fields or None, reason) for each non-blank data row after the header."""
        for number, (fields, reason) in enumerate(
            _records(self.files, spec), 1 - spec.header_lines
        ):
            if number >= 1 and (fields is None or not _blank(fields)):
                yield number, fields, reason

    def row_count(self) -> int:
        """Number of non-blank core data rows (one parse of the core file, then cached)."""
        if self._row_count is None:
            self._row_count = sum(1 for _ in self._data_rows(self.core))
        return self._row_count

    def __iter__(self) -> Iterator[CoreRow]:
        """Stream the core rows with their media; `errors` is refilled on each pass."""
        self.errors = []
        media, media_errors = self._index_media()
        layout = self._layouts[self.core.file]
        first_row: dict[str, int] = {}
        for number, fields, reason in self._data_rows(self.core):
            if fields is None:
                yield CoreRow(
                    number,
                    self.core.file,
                    None,
                    {},
                    [],
                    [RowError(self.core.file, number, None, reason)],
                )
                continue
            core_id, values, errors = layout.read(number, fields)
            row = CoreRow(number, self.core.file, core_id, values, [], errors)
            if core_id is not None:
                if core_id in first_row:
                    reason = f"core id {core_id!r} is also the id of row {first_row[core_id]}"
                    row.errors.append(RowError(self.core.file, number, None, reason))
                else:
                    first_row[core_id] = number
                    row.errors.extend(media_errors.pop(core_id, []))
                    self._attach(row, media.pop(core_id, []))
            if not self.media_tables and values.get("dwc:associatedMedia"):
                self._attach(row, self._associated_media(row), term="dwc:associatedMedia")
            yield row
        for core_id, rows in media.items():
            self.errors.extend(
                RowError(file, number, "coreid", f"core id {core_id!r} matches no core row")
                for file, number, _ in rows
            )
        for errors in media_errors.values():
            self.errors.extend(errors)

    def _index_media(self) -> tuple[dict[str, list], dict[str, list[RowError]]]:
        """Extension rows by core id, and extension-row errors by core id."""
        media: dict[str, list[tuple[str, int, dict[str, str]]]] = {}
        media_errors: dict[str, list[RowError]] = {}
        for spec in self.media_tables:
            layout = self._layouts[spec.file]
            for number, fields, reason in self._data_rows(spec):
                if fields is None:
                    self.errors.append(RowError(spec.file, number, None, reason))
                    continue
                core_id, values, errors = layout.read(number, fields)
                if core_id is None:
                    reason = "the extension row has an empty core id"
                    self.errors.extend([*errors, RowError(spec.file, number, "coreid", reason)])
                elif errors:
                    media_errors.setdefault(core_id, []).extend(errors)
                else:
                    media.setdefault(core_id, []).append((spec.file, number, values))
        return media, media_errors

    def _associated_media(self, row: CoreRow) -> list[tuple[str, int, dict[str, str]]]:
        entries = row.values["dwc:associatedMedia"].split(ASSOCIATED_MEDIA_SEPARATOR)
        return [
            (row.file, row.row_number, {"ac:accessURI": entry.strip()})
            for entry in entries
            if entry.strip()
        ]

    def _attach(
        self, row: CoreRow, rows: list[tuple[str, int, dict[str, str]]], term: str | None = None
    ) -> None:
        """Add media rows to a core row, resolving (and checking) the files they name."""
        for file, number, values in rows:
            media = MediaRow(file, number, values)
            row.media.append(media)
            reference = values.get("ac:accessURI") or values.get("dcterms:identifier")
            if not reference or not self.resolve_media:
                continue
            named_by = term or (
                "ac:accessURI" if "ac:accessURI" in values else "dcterms:identifier"
            )
            path, reason = _media_reference(reference)
            if path is not None and not self.files.exists(path):
                unquoted = unquote(path)
                if self.files.exists(unquoted):
                    path = unquoted
                else:
                    reason = f"media file {path!r} is not in the archive"
                    path = None
            if reason:
                row.errors.append(RowError(file, number, named_by, reason))
            elif path is not None:
                media.local_path = self.files.local_path(path)


def open_source(
    path: Path,
    *,
    max_uncompressed_bytes: int = DEFAULT_MAX_UNCOMPRESSED_BYTES,
    media_beside_csv: bool = True,
) -> DarwinCoreSource:
    """Open a Darwin Core Archive (.zip or folder with meta.xml) or a plain CSV/TSV file.

    Raises `ArchiveError` when the source cannot be read at all. `media_beside_csv=False`
    stops a plain CSV's `dwc:associatedMedia` names from being looked up in its folder; pass it
    when that folder holds unrelated files (a staging area for uploads).
    """
    path = Path(path)
    if path.is_dir():
        files: _ArchiveFiles = _DirectoryFiles(path)
        names = [p.name for p in path.iterdir() if p.is_file() and not _junk_member(p.name)]
        if "meta.xml" not in names:
            texts = [n for n in names if n.lower().endswith(PLAIN_TEXT_SUFFIXES)]
            if len(texts) != 1:
                raise ArchiveError(path.name, "has no meta.xml and no single CSV/TSV data file")
            return DarwinCoreSource(files, _sniffed_text_spec(files, texts[0]))
    elif not path.is_file():
        raise ArchiveError(path.name, "no such file or folder")
    elif path.suffix.lower() == ".zip" or zipfile.is_zipfile(path):
        files = _zip_files(path, max_uncompressed_bytes)
        if files.lone_text_file is not None:
            return DarwinCoreSource(files, _sniffed_text_spec(files, files.lone_text_file))
    else:
        files = _DirectoryFiles(path.parent)
        spec = _sniffed_text_spec(files, path.name)
        return DarwinCoreSource(files, spec, resolve_media=media_beside_csv)
    core, media, ignored, metadata_file = _parse_meta(files)
    return DarwinCoreSource(
        files,
        core,
        media_tables=media,
        ignored_extensions=ignored,
        metadata=_read_metadata(files, metadata_file),
    )
