"""Darwin Core values of a specimen interpreted offline and flagged with GBIF's issues.

`interpret(values)` reads one record's `dwc:`/`ac:` values (strings as read from CSV, or numbers)
and returns GBIF-style interpreted values with the issues GBIF would raise on them. Nothing is
fetched: countries come from Natural Earth polygons (`country_shapes`), names are parsed by GBIF's
name parser and matched against the iNaturalist taxonomy (`taxon_names`).

Issue names, severities and descriptions are GBIF's `OccurrenceIssue` (gbif-api,
`org.gbif.api.vocabulary.OccurrenceIssue`, where each constant carries its
`InterpretationRemarkSeverity`: every issue raised here is a WARNING there, including
COUNTRY_DERIVED_FROM_COORDINATES). The rules follow GBIF's interpreters (gbif/pipelines,
gbif/parsers) with these differences:

- A value that cannot be read at all (a latitude "abc", an eventDate "31/31/2020") raises
  `MalformedValue` instead of becoming an issue: deposits fail with a 400 naming the field.
- eventDate and year/month/day that disagree raise GBIF's RECORDED_DATE_MISMATCH; a day that does
  not exist in its month (given as year/month/day), a reversed interval and an unreadable
  verbatimEventDate (when nothing else dates the record) raise RECORDED_DATE_INVALID.
- IDENTIFIED_DATE_UNLIKELY uses 1753 (Species Plantarum, the start of botanical nomenclature) as
  its lower bound instead of GBIF's 1700, and also fires for an identification before collection.
- A point within `COAST_TOLERANCE_KM` (5 km) of the stated country's polygon counts as inside it.
- verbatimLatitude/verbatimLongitude/verbatimCoordinates are read (degrees, minutes, seconds;
  "O" is east, as on German and Dutch labels) only when decimal coordinates are absent.
- Taxon matching is against the iNaturalist taxonomy instead of the GBIF backbone; see
  `taxon_names`. A record with no taxonomic value at all gets no taxon and no taxon issue.
"""

import calendar
import json
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pycountry

from .country_shapes import COAST_TOLERANCE_KM, country_shapes, territory_parent
from .darwin_core_dates import Instant, Period, parse_period, parse_verbatim_date
from .malformed_value import MalformedValue
from .taxon_names import HIGHER_RANKS, match_taxon, parse_scientific_name

DATA = Path(__file__).parent / "data"

LAT, LON = "dwc:decimalLatitude", "dwc:decimalLongitude"
VERBATIM_COORDINATE_TERMS = (
    "dwc:verbatimLatitude",
    "dwc:verbatimLongitude",
    "dwc:verbatimCoordinates",
)
UNCERTAINTY = "dwc:coordinateUncertaintyInMeters"
MIN_ELEVATION, MAX_ELEVATION = "dwc:minimumElevationInMeters", "dwc:maximumElevationInMeters"
COUNTRY, COUNTRY_CODE = "dwc:country", "dwc:countryCode"
EVENT_DATE, VERBATIM_EVENT_DATE = "dwc:eventDate", "dwc:verbatimEventDate"
DATE_PART_TERMS = ("dwc:year", "dwc:month", "dwc:day")
DATE_IDENTIFIED = "dwc:dateIdentified"
BASIS_OF_RECORD, TYPE_STATUS = "dwc:basisOfRecord", "dwc:typeStatus"
SCIENTIFIC_NAME = "dwc:scientificName"
TAXON_TERMS = (
    SCIENTIFIC_NAME,
    "dwc:scientificNameAuthorship",
    *(f"dwc:{rank}" for rank in HIGHER_RANKS),
    "dwc:specificEpithet",
    "dwc:infraspecificEpithet",
)
MEDIA_TERMS = ("dwc:associatedMedia", "ac:accessURI")

EARLIEST_RECORDED_YEAR = 1600
"""GBIF: a collecting date before 1600 predates modern taxonomy (RECORDED_DATE_UNLIKELY)."""
EARLIEST_IDENTIFIED_YEAR = 1753
"""Species Plantarum: no identification can cite a name published before it."""
MAX_UNCERTAINTY_METERS = 5_000_000
"""GBIF's upper bound for dwc:coordinateUncertaintyInMeters (half the Earth's circumference/4)."""
ELEVATION_RANGE_METERS = (-11_000, 17_000)
"""GBIF: below the Mariana Trench or above the troposphere is unlikely (ELEVATION_UNLIKELY)."""

ISSUE_SEVERITIES: dict[str, str] = {
    "ZERO_COORDINATE": "WARNING",
    "COORDINATE_OUT_OF_RANGE": "WARNING",
    "COORDINATE_INVALID": "WARNING",
    "COORDINATE_UNCERTAINTY_METERS_INVALID": "WARNING",
    "PRESUMED_SWAPPED_COORDINATE": "WARNING",
    "PRESUMED_NEGATED_LATITUDE": "WARNING",
    "PRESUMED_NEGATED_LONGITUDE": "WARNING",
    "COUNTRY_COORDINATE_MISMATCH": "WARNING",
    "COUNTRY_INVALID": "WARNING",
    "COUNTRY_MISMATCH": "WARNING",
    "COUNTRY_DERIVED_FROM_COORDINATES": "WARNING",
    "ELEVATION_MIN_MAX_SWAPPED": "WARNING",
    "ELEVATION_UNLIKELY": "WARNING",
    "RECORDED_DATE_INVALID": "WARNING",
    "RECORDED_DATE_MISMATCH": "WARNING",
    "RECORDED_DATE_UNLIKELY": "WARNING",
    "IDENTIFIED_DATE_UNLIKELY": "WARNING",
    "BASIS_OF_RECORD_INVALID": "WARNING",
    "TYPE_STATUS_INVALID": "WARNING",
    "SUSPECTED_TYPE": "WARNING",
    "TAXON_MATCH_FUZZY": "WARNING",
    "TAXON_MATCH_HIGHERRANK": "WARNING",
    "TAXON_MATCH_NONE": "WARNING",
    "MULTIMEDIA_URI_INVALID": "WARNING",
}
"""Every issue this module raises → GBIF's severity for it (gbif-api OccurrenceIssue)."""

ISSUE_DESCRIPTIONS: dict[str, str] = {
    "ZERO_COORDINATE": "The coordinate is exactly 0°, 0°, which usually stands for a missing one.",
    "COORDINATE_OUT_OF_RANGE": "Latitude or longitude lies beyond ±90° or ±180°.",
    "COORDINATE_INVALID": "A coordinate is given but cannot be interpreted, or only half of it.",
    "COORDINATE_UNCERTAINTY_METERS_INVALID": (
        "The coordinate uncertainty is zero, negative or implausibly large."
    ),
    "PRESUMED_SWAPPED_COORDINATE": (
        "Latitude and longitude appear to be swapped; the interpreted point swaps them back."
    ),
    "PRESUMED_NEGATED_LATITUDE": (
        "The latitude appears to have the wrong sign; the interpreted point negates it."
    ),
    "PRESUMED_NEGATED_LONGITUDE": (
        "The longitude appears to have the wrong sign; the interpreted point negates it."
    ),
    "COUNTRY_COORDINATE_MISMATCH": "The coordinate lies outside the country the record names.",
    "COUNTRY_INVALID": "The country or country code cannot be recognised.",
    "COUNTRY_MISMATCH": "The country name and the country code name different countries.",
    "COUNTRY_DERIVED_FROM_COORDINATES": (
        "No country is given; the interpreted country is the one the coordinate lies in."
    ),
    "ELEVATION_MIN_MAX_SWAPPED": "The minimum elevation is greater than the maximum elevation.",
    "ELEVATION_UNLIKELY": "The elevation is above 17 km or below -11 km.",
    "RECORDED_DATE_INVALID": "The collecting date is impossible or cannot be interpreted.",
    "RECORDED_DATE_MISMATCH": "The event date and the year, month and day contradict each other.",
    "RECORDED_DATE_UNLIKELY": "The collecting date lies in the future or before 1600.",
    "IDENTIFIED_DATE_UNLIKELY": (
        "The identification date lies in the future, before 1753 or before the collecting date."
    ),
    "BASIS_OF_RECORD_INVALID": "The basis of record is not a Darwin Core record class.",
    "TYPE_STATUS_INVALID": "The type status is not a recognised nomenclatural type status.",
    "SUSPECTED_TYPE": "The type status contains words that express doubt.",
    "TAXON_MATCH_FUZZY": "The scientific name matched a listed name only after a spelling fix.",
    "TAXON_MATCH_HIGHERRANK": "The scientific name matched only a higher rank, such as its genus.",
    "TAXON_MATCH_NONE": "The scientific name matched no listed name at any rank.",
    "MULTIMEDIA_URI_INVALID": "A media link is not an absolute http or https URI.",
}
"""Every issue → a one-sentence explanation, shown on landing pages."""


@dataclass(frozen=True)
class Issue:
    """One GBIF occurrence issue raised on a record."""

    name: str
    severity: str
    terms: tuple[str, ...]
    message: str


@dataclass
class Interpretation:
    """The issues raised on a record and the values interpreted from it."""

    issues: list[Issue] = field(default_factory=list)
    interpreted: dict = field(default_factory=dict)

    def flags(self) -> list[str]:
        """The issue names, sorted, each once."""
        return sorted({issue.name for issue in self.issues})


def _flag(result: Interpretation, name: str, terms: tuple[str, ...] | list[str], message: str):
    result.issues.append(Issue(name, ISSUE_SEVERITIES[name], tuple(terms), message))


# --- reading raw values -----------------------------------------------------------------------


def _text(values: Mapping[str, Any], term: str) -> str | None:
    """A value as stripped text; None when absent or empty."""
    value = values.get(term)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _number(values: Mapping[str, Any], term: str) -> float | None:
    """A numeric value (number or numeric string); raises MalformedValue otherwise."""
    value = values.get(term)
    if value is None or isinstance(value, str) and not value.strip():
        return None
    if isinstance(value, bool):
        raise MalformedValue(term, f"{value!r} is not a number")
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = str(value).strip()
        if re.fullmatch(r"[+-]?\d+,\d{3}", text):
            raise MalformedValue(term, f"'{value}' is not a number: decimal or thousands comma?")
        if text.count(",") == 1 and "." not in text:
            text = text.replace(",", ".")  # decimal comma, as European spreadsheets write
        try:
            number = float(text)
        except ValueError:
            raise MalformedValue(term, f"'{value}' is not a number") from None
    if not math.isfinite(number):
        raise MalformedValue(term, f"'{value}' is not a finite number")
    return number


def _integer(values: Mapping[str, Any], term: str) -> int | None:
    """An integer value (integral number or digits); raises MalformedValue otherwise."""
    value = values.get(term)
    if value is None or isinstance(value, str) and not value.strip():
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = str(value).strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    raise MalformedValue(term, f"'{value}' is not a whole number")


def _present(values: Mapping[str, Any], terms: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(term for term in terms if _text(values, term) is not None)


# --- countries --------------------------------------------------------------------------------


def _name_key(text: str) -> str:
    """Lower-case ASCII words: 'Côte d'Ivoire' → 'cote d ivoire', 'U.S.A.' → 'u s a'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", ascii_text.lower()).split())


@cache
def _country_names() -> tuple[dict[str, str], dict[str, str]]:
    """(normalised name or code → alpha-2, alpha-2 → English display name)."""
    lookup: dict[str, str] = {}
    display: dict[str, str] = {}
    for country in pycountry.countries:
        code = country.alpha_2
        display[code] = getattr(country, "common_name", None) or country.name
        lookup[code.lower()] = code
        lookup[country.alpha_3.lower()] = code
        for attribute in ("name", "official_name", "common_name"):
            name = getattr(country, attribute, None)
            if name:
                lookup[_name_key(name)] = code
    data = json.loads((DATA / "country_names.json").read_text(encoding="utf-8"))
    lookup.update({"xk": "XK", "xkx": "XK"})
    lookup.update({_name_key(alias): code for alias, code in data["aliases"].items()})
    display.update(data["display"])
    return lookup, display


@lru_cache(maxsize=4096)
def _country_code(text: str) -> str | None:
    """ISO 3166-1 alpha-2 code for a code (alpha-2 or alpha-3) or an English or local name."""
    return _country_names()[0].get(_name_key(text))


def _country_name(code: str) -> str | None:
    return _country_names()[1].get(code)


def _same_country(a: str, b: str) -> bool:
    """Equal codes, or a territory and the country Natural Earth draws it in (GF and FR)."""
    return a == b or territory_parent(a) == b or territory_parent(b) == a


def _interpret_country(values: Mapping[str, Any], result: Interpretation) -> tuple[str, ...]:
    """Recognise dwc:countryCode and dwc:country; return the codes they name, code first."""
    code_text, name_text = _text(values, COUNTRY_CODE), _text(values, COUNTRY)
    from_code = _country_code(code_text) if code_text else None
    from_name = _country_code(name_text) if name_text else None
    unrecognised = [
        (term, text)
        for term, text, code in (
            (COUNTRY_CODE, code_text, from_code),
            (COUNTRY, name_text, from_name),
        )
        if text and not code
    ]
    if unrecognised:
        _flag(
            result,
            "COUNTRY_INVALID",
            [term for term, _ in unrecognised],
            "; ".join(
                f"{term} '{text}' is not a recognised country" for term, text in unrecognised
            ),
        )
    if from_code and from_name and not _same_country(from_code, from_name):
        _flag(
            result,
            "COUNTRY_MISMATCH",
            (COUNTRY, COUNTRY_CODE),
            f"{COUNTRY} '{name_text}' is {from_name} but {COUNTRY_CODE} is '{code_text}'",
        )
    stated = tuple(dict.fromkeys(code for code in (from_code, from_name) if code))
    if stated:
        _set_country(result, stated[0])
    return stated


def _set_country(result: Interpretation, code: str) -> None:
    result.interpreted["countryCode"] = code
    result.interpreted["country"] = _country_name(code) or code


# --- coordinates ------------------------------------------------------------------------------

_SYMBOLS = str.maketrans(
    {"º": "°", "˚": "°", "′": "'", "´": "'", "’": "'", "‘": "'", "″": '"', "”": '"', "“": '"'}
)
_HEMISPHERES = "NSEWO"


def _dms(text: str) -> tuple[float, str | None] | None:
    """One verbatim coordinate (`38°06'25"N`, `N 38 06 25`, `-38.107`) → (degrees, hemisphere)."""
    text = text.translate(_SYMBOLS).replace("''", '"').strip().upper()
    hemisphere = None
    if len(text) > 1 and text[0] in _HEMISPHERES and not text[1].isalpha():
        hemisphere, text = text[0], text[1:]
    elif len(text) > 1 and text[-1] in _HEMISPHERES and not text[-2].isalpha():
        hemisphere, text = text[-1], text[:-1]
    text = re.sub(r"(?<=[\d\s])(DEG|MIN|SEC|D|M|S)(?![A-Z])", " ", text)
    if not re.fullmatch(r"[\s\d.,°'\"+-]+", text):
        return None
    numbers = re.findall(r"[+-]?\d+(?:[.,]\d+)?", text)
    if not 1 <= len(numbers) <= 3:
        return None
    parts = [float(n.replace(",", ".")) for n in numbers]
    if any(p < 0 for p in parts[1:]) or any(p >= 60 for p in parts[1:]):
        return None
    if len(parts) > 1 and not parts[0].is_integer():
        return None
    sign = -1 if numbers[0].startswith("-") else 1
    value = abs(parts[0]) + sum(p / 60**i for i, p in enumerate(parts[1:], start=1))
    if hemisphere in ("S", "W"):
        sign = -1
    return sign * value, hemisphere


def _verbatim_pair(text: str) -> tuple[float, float] | None:
    """verbatimCoordinates (`N 38°06'25" O 26°51'03"`, `38.107, 26.851`) → (lat, lon)."""
    normal = text.translate(_SYMBOLS).strip().upper()
    halves = None
    for separator in (";", ",", "/"):
        parts = normal.split(separator)
        if len(parts) == 2 and _dms(parts[0]) and _dms(parts[1]):
            halves = parts
            break
    if halves is None:
        letters = [
            i
            for i, c in enumerate(normal)
            if c in _HEMISPHERES
            and (i == 0 or not normal[i - 1].isalpha())
            and (i == len(normal) - 1 or not normal[i + 1].isalpha())
        ]
        if len(letters) == 2:
            cut = letters[1] if letters[0] == 0 else letters[0] + 1
            halves = [normal[:cut], normal[cut:]]
        elif len(normal.split()) == 2:
            halves = normal.split()
        else:
            return None
    first, second = _dms(halves[0]), _dms(halves[1])
    if not first or not second:
        return None
    if first[1] in ("E", "W", "O") or second[1] in ("N", "S"):
        first, second = second, first
    return _checked_pair(first, second)


def _checked_pair(lat: tuple[float, str | None], lon: tuple[float, str | None]):
    if lat[1] not in (None, "N", "S") or lon[1] not in (None, "E", "W", "O"):
        return None
    if abs(lat[0]) > 90 or abs(lon[0]) > 180:
        return None
    return lat[0], lon[0]


def _verbatim_coordinates(values: Mapping[str, Any]) -> tuple[float, float] | None:
    latitude, longitude = (
        _text(values, "dwc:verbatimLatitude"),
        _text(values, "dwc:verbatimLongitude"),
    )
    if latitude and longitude:
        lat, lon = _dms(latitude), _dms(longitude)
        if lat and lon:
            return _checked_pair(lat, lon)
    coordinates = _text(values, "dwc:verbatimCoordinates")
    return _verbatim_pair(coordinates) if coordinates else None


@lru_cache(maxsize=65536)
def _placed(
    lat: float, lon: float, stated: str | None
) -> tuple[float, float, tuple[str, ...], str | None]:
    """Check a point against the stated country as GBIF does, trying sign and order mistakes.

    Returns the interpreted point, the issues found and the country code derived from the point
    (for records that state none).
    """
    shapes = country_shapes()
    if stated is None:
        return lat, lon, (), shapes.country_at(lat, lon)
    if not shapes.has_shape(stated) or shapes.contains(stated, lat, lon):
        return lat, lon, (), None
    attempts = (
        (-lat, lon, ("PRESUMED_NEGATED_LATITUDE",)),
        (lat, -lon, ("PRESUMED_NEGATED_LONGITUDE",)),
        (-lat, -lon, ("PRESUMED_NEGATED_LATITUDE", "PRESUMED_NEGATED_LONGITUDE")),
        (lon, lat, ("PRESUMED_SWAPPED_COORDINATE",)),
    )
    for new_lat, new_lon, issues in attempts:
        if abs(new_lat) <= 90 and shapes.contains(stated, new_lat, new_lon):
            return new_lat, new_lon, issues, None
    return lat, lon, ("COUNTRY_COORDINATE_MISMATCH",), None


def _interpret_coordinates(
    values: Mapping[str, Any], result: Interpretation, stated: tuple[str, ...]
) -> None:
    """Decimal (else verbatim) coordinates: range, zero, sign, order and country checks.

    Where dwc:countryCode and dwc:country disagree, the one the point lies in is kept.
    """
    lat, lon = _number(values, LAT), _number(values, LON)
    uncertainty = _number(values, UNCERTAINTY)
    result.interpreted["hasCoordinates"] = False
    if uncertainty is not None:
        if 0 < uncertainty <= MAX_UNCERTAINTY_METERS:
            result.interpreted["coordinateUncertaintyInMeters"] = uncertainty
        else:
            _flag(
                result,
                "COORDINATE_UNCERTAINTY_METERS_INVALID",
                (UNCERTAINTY,),
                f"{UNCERTAINTY} {uncertainty:g} is not between 0 and {MAX_UNCERTAINTY_METERS:,} m",
            )
    terms: tuple[str, ...] = (LAT, LON)
    if lat is None and lon is None:
        terms = _present(values, VERBATIM_COORDINATE_TERMS)
        if not terms:
            return
        point = _verbatim_coordinates(values)
        if point is None:
            shown = ", ".join(f"{t} '{_text(values, t)}'" for t in terms)
            _flag(result, "COORDINATE_INVALID", terms, f"{shown} cannot be read as a coordinate")
            return
        lat, lon = point
    elif lat is None or lon is None:
        given, missing = (LAT, LON) if lon is None else (LON, LAT)
        _flag(result, "COORDINATE_INVALID", terms, f"{given} is given but {missing} is not")
        return
    if abs(lat) > 90 or abs(lon) > 180:
        if abs(lat) <= 180 and abs(lon) <= 90:
            _flag(
                result,
                "PRESUMED_SWAPPED_COORDINATE",
                terms,
                f"latitude {lat:g} is out of range but longitude {lon:g} would be a latitude: "
                "swapped back",
            )
            lat, lon = lon, lat
        else:
            _flag(
                result,
                "COORDINATE_OUT_OF_RANGE",
                terms,
                f"latitude {lat:g} / longitude {lon:g} lies beyond ±90° / ±180°",
            )
            return
    if lat == 0 and lon == 0:
        _flag(result, "ZERO_COORDINATE", terms, "latitude 0 and longitude 0 is the 0°, 0° point")
    if stated:
        country, placement = stated[0], _placed(lat, lon, stated[0])
        for code in stated[1:]:
            alternative = _placed(lat, lon, code) if placement[2] else None
            if alternative and not alternative[2]:
                country, placement = code, alternative
                _set_country(result, code)
    else:
        country, placement = None, _placed(lat, lon, None)
    new_lat, new_lon, issues, derived = placement
    country_terms = _present(values, (COUNTRY, COUNTRY_CODE))
    for issue in issues:
        message = _placement_message(issue, lat, lon, country)
        _flag(result, issue, (*terms, *country_terms), message)
    if derived:
        _flag(
            result,
            "COUNTRY_DERIVED_FROM_COORDINATES",
            (*terms, COUNTRY, COUNTRY_CODE),
            f"no country given; {lat:g}, {lon:g} lies in {_country_name(derived) or derived}",
        )
        _set_country(result, derived)
    result.interpreted.update(
        {"decimalLatitude": new_lat, "decimalLongitude": new_lon, "hasCoordinates": True}
    )


def _placement_message(issue: str, lat: float, lon: float, stated: str) -> str:
    country = _country_name(stated) or stated
    if issue == "COUNTRY_COORDINATE_MISMATCH":
        return (
            f"{lat:g}, {lon:g} lies more than {COAST_TOLERANCE_KM:g} km outside {country} "
            f"({stated})"
        )
    changed = {
        "PRESUMED_NEGATED_LATITUDE": f"latitude {lat:g} read as {-lat:g}",
        "PRESUMED_NEGATED_LONGITUDE": f"longitude {lon:g} read as {-lon:g}",
        "PRESUMED_SWAPPED_COORDINATE": f"{lat:g}, {lon:g} read as {lon:g}, {lat:g}",
    }[issue]
    return f"{changed}: only then does the point lie in {country} ({stated})"


def _interpret_elevation(values: Mapping[str, Any], result: Interpretation) -> None:
    low, high = _number(values, MIN_ELEVATION), _number(values, MAX_ELEVATION)
    terms = _present(values, (MIN_ELEVATION, MAX_ELEVATION))
    if low is not None and high is not None and low > high:
        _flag(
            result,
            "ELEVATION_MIN_MAX_SWAPPED",
            terms,
            f"minimum {low:g} m is above maximum {high:g} m: swapped back",
        )
        low, high = high, low
    bottom, top = ELEVATION_RANGE_METERS
    unlikely = [v for v in (low, high) if v is not None and not bottom <= v <= top]
    if unlikely:
        _flag(
            result,
            "ELEVATION_UNLIKELY",
            terms,
            f"elevation {unlikely[0]:g} m is outside {bottom:,} to {top:,} m",
        )
    for term, value in ((MIN_ELEVATION, low), (MAX_ELEVATION, high)):
        if value is not None:
            result.interpreted[term.removeprefix("dwc:")] = value


# --- dates ------------------------------------------------------------------------------------


def _date_parts(values: Mapping[str, Any], result: Interpretation) -> Period | None:
    """year/month/day as a period at their precision; flags days that do not exist."""
    year, month, day = (_integer(values, term) for term in DATE_PART_TERMS)
    if year is None:
        return None
    terms = _present(values, DATE_PART_TERMS)
    if month is not None and not 1 <= month <= 12:
        _flag(result, "RECORDED_DATE_INVALID", terms, f"dwc:month {month} is not a month")
        return Period(Instant(year))
    if day is not None and (month is None or not 1 <= day <= calendar.monthrange(year, month)[1]):
        where = f"{year:04d}-{month:02d}" if month else "a date without a month"
        _flag(result, "RECORDED_DATE_INVALID", terms, f"dwc:day {day} does not exist in {where}")
        day = None
    return Period(Instant(year, month, day))


def _overlaps(a: Period, b: Period) -> bool:
    return a.earliest() <= b.latest() and b.earliest() <= a.latest()


def _interpret_dates(values: Mapping[str, Any], result: Interpretation, today: date) -> None:
    """eventDate, year/month/day, verbatimEventDate and dateIdentified."""
    event_text = _text(values, EVENT_DATE)
    event = parse_period(EVENT_DATE, event_text) if event_text else None
    identified_text = _text(values, DATE_IDENTIFIED)
    identified = parse_period(DATE_IDENTIFIED, identified_text) if identified_text else None
    parts = _date_parts(values, result)
    date_terms = _present(values, (EVENT_DATE, *DATE_PART_TERMS))
    if event and event.end and event.end.latest() < event.start.earliest():
        _flag(
            result, "RECORDED_DATE_INVALID", (EVENT_DATE,), f"'{event_text}' ends before it starts"
        )
        event = None
    if event and parts and not _overlaps(event, parts):
        _flag(
            result,
            "RECORDED_DATE_MISMATCH",
            date_terms,
            f"{EVENT_DATE} '{event_text}' and year/month/day {parts.iso()} disagree",
        )
    recorded = event or parts
    verbatim_text = _text(values, VERBATIM_EVENT_DATE)
    if recorded is None and verbatim_text and not event_text:
        recorded = parse_verbatim_date(VERBATIM_EVENT_DATE, verbatim_text)
        if recorded is None:
            _flag(
                result,
                "RECORDED_DATE_INVALID",
                (VERBATIM_EVENT_DATE,),
                f"{VERBATIM_EVENT_DATE} '{verbatim_text}' cannot be read as a date",
            )
    if recorded:
        start = recorded.start
        result.interpreted["eventDate"] = recorded.iso()
        for key, value in zip(("year", "month", "day"), start.parts(), strict=False):
            result.interpreted[key] = value
        if recorded.earliest() > today or recorded.latest().year < EARLIEST_RECORDED_YEAR:
            _flag(
                result,
                "RECORDED_DATE_UNLIKELY",
                date_terms or (VERBATIM_EVENT_DATE,),
                f"collected {recorded.iso()}: in the future or before {EARLIEST_RECORDED_YEAR}",
            )
    if identified:
        result.interpreted["dateIdentified"] = identified.iso()
        problem = None
        if identified.earliest() > today:
            problem = "is in the future"
        elif identified.latest().year < EARLIEST_IDENTIFIED_YEAR:
            problem = f"is before {EARLIEST_IDENTIFIED_YEAR}"
        elif recorded and identified.latest() < recorded.earliest():
            problem = f"is before the specimen was collected ({recorded.iso()})"
        if problem:
            _flag(
                result,
                "IDENTIFIED_DATE_UNLIKELY",
                (DATE_IDENTIFIED,),
                f"{DATE_IDENTIFIED} '{identified_text}' {problem}",
            )


# --- vocabularies -----------------------------------------------------------------------------


def _vocabulary_key(text: str) -> str:
    """Upper-case letters only; a namespace or URI prefix is dropped (`dwc:PreservedSpecimen`)."""
    last = re.split(r"[/:#]", text)[-1] or text
    return re.sub(r"[^A-Z]", "", _name_key(last).upper())


@cache
def _basis_of_record_vocabulary() -> dict[str, str]:
    data = json.loads((DATA / "basis_of_record.json").read_text(encoding="utf-8"))
    vocabulary = {_vocabulary_key(name): name for name in data["classes"]}
    vocabulary.update(data["aliases"])
    return vocabulary


def _interpret_basis_of_record(values: Mapping[str, Any], result: Interpretation) -> None:
    text = _text(values, BASIS_OF_RECORD)
    if not text:
        return
    canonical = _basis_of_record_vocabulary().get(_vocabulary_key(text))
    if canonical:
        result.interpreted["basisOfRecord"] = canonical
    else:
        _flag(
            result,
            "BASIS_OF_RECORD_INVALID",
            (BASIS_OF_RECORD,),
            f"{BASIS_OF_RECORD} '{text}' is not a Darwin Core record class",
        )


@cache
def _type_status_vocabulary() -> tuple[dict[str, str], tuple[str, ...]]:
    """(normalised status or alias → display word, words that express doubt)."""
    data = json.loads((DATA / "type_status.json").read_text(encoding="utf-8"))
    statuses = data["statuses"]
    vocabulary = dict(statuses)
    vocabulary.update({alias: statuses[status] for alias, status in data["aliases"].items()})
    return vocabulary, tuple(data["uncertain_words"])


def _type_status_word(designation: str) -> tuple[str | None, bool]:
    """The status word of one designation ("Holotype of Abies alba Mill.") and whether in doubt."""
    vocabulary, doubt_words = _type_status_vocabulary()
    text = designation.lower()
    doubtful = "?" in text or any(re.search(rf"\b{word}\b", text) for word in doubt_words)
    for word in doubt_words:
        text = re.sub(rf"\b{word}\b", " ", text)
    head = re.split(
        r"\s(?:of|for|de|del|di|du|des|von|van)\s|[:,;(=\[]", f" {text} ".replace("?", " ")
    )
    head = head[0] if head[0].strip() else text
    candidates = [head, *head.split()[:1]]
    for candidate in candidates:
        key = _vocabulary_key(candidate)
        for form in (key, key.removesuffix("S")):
            if form in vocabulary:
                return vocabulary[form], doubtful
    return None, doubtful


def _interpret_type_status(values: Mapping[str, Any], result: Interpretation) -> None:
    text = _text(values, TYPE_STATUS)
    if not text:
        return
    designations = [d.strip() for d in re.split(r"[|;]", text) if d.strip()]
    words, invalid, doubtful = [], [], []
    for designation in designations:
        word, in_doubt = _type_status_word(designation)
        (words if word else invalid).append(word or designation)
        if in_doubt:
            doubtful.append(designation)
    if words:
        result.interpreted["typeStatus"] = words[0]
    if invalid:
        shown = "', '".join(invalid)
        _flag(
            result,
            "TYPE_STATUS_INVALID",
            (TYPE_STATUS,),
            f"{TYPE_STATUS} '{shown}' names no type status of GBIF's vocabulary",
        )
    if doubtful:
        _flag(
            result,
            "SUSPECTED_TYPE",
            (TYPE_STATUS,),
            f"{TYPE_STATUS} '{'; '.join(doubtful)}' expresses doubt about the type status",
        )


# --- taxon ------------------------------------------------------------------------------------


def _interpret_taxon(values: Mapping[str, Any], result: Interpretation) -> None:
    """Match the scientific name (or genus + epithets) against the offline name list."""
    hints = {rank: _text(values, f"dwc:{rank}") for rank in HIGHER_RANKS}
    name = _text(values, SCIENTIFIC_NAME)
    if not name and hints["genus"]:
        epithets = (_text(values, "dwc:specificEpithet"), _text(values, "dwc:infraspecificEpithet"))
        name = " ".join([hints["genus"], *(e for e in epithets if e)])
    terms = _present(values, TAXON_TERMS)
    if not name and not any(hints.values()):
        return
    match = match_taxon(name, hints)
    parsed = parse_scientific_name(name) if name else None
    taxon: dict[str, Any] = {"scientificName": name}
    if parsed:
        taxon.update(
            canonicalName=parsed.canonical_name,
            authorship=parsed.authorship or _text(values, "dwc:scientificNameAuthorship"),
            rank=parsed.rank,
            genus=parsed.genus,
            specificEpithet=parsed.specific_epithet,
        )
    taxon.update({rank: value for rank, value in hints.items() if value})
    if match.taxon:
        taxon.update(match.taxon.classification)
        taxon["matchedName"] = match.taxon.name
        if match.match_type in ("EXACT", "FUZZY"):
            taxon["rank"] = match.taxon.rank
    taxon["matchType"] = match.match_type
    result.interpreted["taxon"] = {key: value for key, value in taxon.items() if value}
    if match.match_type != "EXACT":
        _flag(result, f"TAXON_MATCH_{match.match_type}", terms, match.note)


# --- media ------------------------------------------------------------------------------------


def _media_links(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else [value]
    links = []
    for item in items:
        links.extend(part.strip() for part in str(item).split("|") if part.strip())
    return links


def _is_web_uri(text: str) -> bool:
    if any(c.isspace() for c in text):
        return False
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _interpret_media(values: Mapping[str, Any], result: Interpretation) -> None:
    bad = [
        (term, link)
        for term in MEDIA_TERMS
        for link in _media_links(values.get(term))
        if not _is_web_uri(link)
    ]
    if bad:
        _flag(
            result,
            "MULTIMEDIA_URI_INVALID",
            sorted({term for term, _ in bad}),
            "; ".join(f"{term} '{link}' is not an absolute http(s) URI" for term, link in bad),
        )


# --- the whole record -------------------------------------------------------------------------


def interpret(values: Mapping[str, Any], *, today: date | None = None) -> Interpretation:
    """Interpret one record's `dwc:`/`ac:` values and raise GBIF's issues on them.

    Raises MalformedValue for a value that cannot be interpreted at all. `today` bounds
    "in the future" (default: the current date). The input mapping is never changed.
    """
    today = today or date.today()
    result = Interpretation()
    stated = _interpret_country(values, result)
    _interpret_coordinates(values, result, stated)
    _interpret_elevation(values, result)
    _interpret_dates(values, result, today)
    _interpret_basis_of_record(values, result)
    _interpret_type_status(values, result)
    _interpret_taxon(values, result)
    _interpret_media(values, result)
    return result
