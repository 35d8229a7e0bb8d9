"""GBIF occurrence issues on real specimen values: each flag raised, and a near miss that is not."""

import copy
import csv
import io
import json
import zipfile
from datetime import date
from pathlib import Path

import pytest

from specimen_rdm_specimens.quality_flags import (
    ISSUE_DESCRIPTIONS,
    ISSUE_SEVERITIES,
    Interpretation,
    Issue,
    MalformedValue,
    interpret,
)

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "dwca"
TODAY = date(2026, 1, 15)

BERLIN_OAK = {
    "dwc:basisOfRecord": "PreservedSpecimen",
    "dwc:scientificName": "Quercus robur L.",
    "dwc:kingdom": "Plantae",
    "dwc:family": "Fagaceae",
    "dwc:genus": "Quercus",
    "dwc:eventDate": "1931-06-27/1931-07-02",
    "dwc:country": "Germany",
    "dwc:countryCode": "DE",
    "dwc:locality": "Berlin-Dahlem, Botanischer Garten",
    "dwc:decimalLatitude": 52.4555,
    "dwc:decimalLongitude": 13.3047,
    "dwc:typeStatus": "Holotype of Quercus robur L.",
}
"""A clean herbarium specimen from the Berlin botanic garden."""

BOLKAR_YARROW = {
    "dwc:basisOfRecord": "PreservedSpecimen",
    "dwc:scientificName": "Achillea falcata L.",
    "dwc:kingdom": "Plantae",
    "dwc:family": "Asteraceae",
    "dwc:eventDate": "1999-07-30",
    "dwc:countryCode": "TR",
    "dwc:stateProvince": "Nigde",
    "dwc:locality": "Bolkar Daglari, upper Arpalik (Maden) Deresi",
    "dwc:decimalLatitude": "37.42000",
    "dwc:decimalLongitude": "34.56800",
    "dwc:minimumElevationInMeters": "2350",
}
"""A row of BGBM's PonTaurus archive (shared/data/dwca), values as CSV strings."""


def run(base: dict, **changes) -> Interpretation:
    """Interpret `base` with some terms changed (None removes a term)."""
    values = {**base}
    for name, value in changes.items():
        term = name if ":" in name else f"dwc:{name}"
        if value is None:
            values.pop(term, None)
        else:
            values[term] = value
    return interpret(values, today=TODAY)


def flags(base: dict, **changes) -> list[str]:
    return run(base, **changes).flags()


def issue(result: Interpretation, name: str) -> Issue:
    return next(i for i in result.issues if i.name == name)


# --- interface --------------------------------------------------------------------------------


def test_clean_records_raise_no_issue():
    assert flags(BERLIN_OAK) == []
    assert flags(BOLKAR_YARROW) == []


def test_interpreted_values_of_a_clean_record():
    interpreted = run(BERLIN_OAK).interpreted
    assert interpreted["countryCode"] == "DE"
    assert interpreted["country"] == "Germany"
    assert interpreted["hasCoordinates"] is True
    assert (interpreted["decimalLatitude"], interpreted["decimalLongitude"]) == (52.4555, 13.3047)
    assert interpreted["eventDate"] == "1931-06-27/1931-07-02"
    assert (interpreted["year"], interpreted["month"], interpreted["day"]) == (1931, 6, 27)
    assert interpreted["basisOfRecord"] == "PreservedSpecimen"
    assert interpreted["typeStatus"] == "Holotype"
    taxon = interpreted["taxon"]
    assert taxon["matchType"] == "EXACT"
    assert taxon["canonicalName"] == taxon["matchedName"] == "Quercus robur"
    assert taxon["authorship"] == "L."
    assert taxon["rank"] == "SPECIES"
    assert (taxon["kingdom"], taxon["order"], taxon["family"]) == ("Plantae", "Fagales", "Fagaceae")
    assert (taxon["genus"], taxon["specificEpithet"]) == ("Quercus", "robur")
    json.dumps(interpreted)


def test_string_values_from_csv_are_read_like_numbers():
    interpreted = run(BOLKAR_YARROW, decimalLatitude=" 37.42000 ").interpreted
    assert interpreted["decimalLatitude"] == 37.42
    assert interpreted["minimumElevationInMeters"] == 2350


def test_decimal_commas_are_read():
    assert run(BERLIN_OAK, decimalLatitude="52,4555").interpreted["decimalLatitude"] == 52.4555


def test_empty_strings_are_absent():
    result = run(BOLKAR_YARROW, decimalLatitude="", decimalLongitude="  ", eventDate="")
    assert result.flags() == []
    assert result.interpreted["hasCoordinates"] is False
    assert "eventDate" not in result.interpreted


def test_input_is_never_changed():
    values = copy.deepcopy({**BERLIN_OAK, "dwc:decimalLatitude": -52.4555})
    before = copy.deepcopy(values)
    result = interpret(values, today=TODAY)
    assert result.interpreted["decimalLatitude"] == 52.4555
    assert values == before


def test_every_issue_has_gbif_severity_and_description():
    assert set(ISSUE_SEVERITIES) == set(ISSUE_DESCRIPTIONS)
    assert set(ISSUE_SEVERITIES.values()) <= {"ERROR", "WARNING", "INFO"}
    assert all(text.endswith(".") for text in ISSUE_DESCRIPTIONS.values())


def test_issues_carry_severity_terms_and_a_message_naming_the_values():
    result = run(BERLIN_OAK, decimalLatitude=-52.4555)
    negated = issue(result, "PRESUMED_NEGATED_LATITUDE")
    assert negated.severity == "WARNING"
    assert negated.terms[:2] == ("dwc:decimalLatitude", "dwc:decimalLongitude")
    assert "-52.4555" in negated.message
    assert result.flags() == sorted(result.flags())


# --- malformed values -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "value", "word"),
    [
        ("decimalLatitude", "abc", "number"),
        ("decimalLongitude", "13°E", "number"),
        ("coordinateUncertaintyInMeters", "ten metres", "number"),
        ("minimumElevationInMeters", "2350 m", "number"),
        ("minimumElevationInMeters", "2,350", "comma"),
        ("maximumElevationInMeters", True, "number"),
        ("eventDate", "31/31/2020", "date"),
        ("eventDate", "2020-13-01", "month"),
        ("eventDate", "2021-02-29", "day"),
        ("eventDate", "1931-06-27/07-32", "day"),
        ("eventDate", "yesterday", "date"),
        ("eventDate", "1931-06-27T25:00", "time"),
        ("dateIdentified", "2020/13", "date"),
        ("year", "19x1", "number"),
        ("month", "June", "number"),
        ("day", 1.5, "number"),
    ],
)
def test_values_that_cannot_be_read_raise_naming_the_field(term, value, word):
    with pytest.raises(MalformedValue) as raised:
        run(BERLIN_OAK, **{term: value})
    error = raised.value
    assert error.field == f"dwc:{term}"
    assert word in error.reason
    assert str(error) == f"dwc:{term}: {error.reason}"


@pytest.mark.parametrize(
    ("event_date", "normalised"),
    [
        ("1931", "1931"),
        ("1931-06", "1931-06"),
        ("1931-6-7", "1931-06-07"),
        ("19310627", "1931-06-27"),
        ("1931-06-27T10:30Z", "1931-06-27T10:30Z"),
        ("1931-06-27 10:30:00+0200", "1931-06-27T10:30:00+02:00"),
        ("1999-06-18 00:00:00.0", "1999-06-18T00:00:00"),
        ("1931-06-27/1931-07-02", "1931-06-27/1931-07-02"),
        ("1931-06-27/07-02", "1931-06-27/1931-07-02"),
        ("1931-06-02/27", "1931-06-02/1931-06-27"),
        ("1931-06/1931-08", "1931-06/1931-08"),
        ("1931-06-27/1931-06-27", "1931-06-27"),
    ],
)
def test_iso_dates_partial_dates_datetimes_and_intervals_are_normalised(event_date, normalised):
    result = run(BERLIN_OAK, eventDate=event_date)
    assert result.flags() == []
    assert result.interpreted["eventDate"] == normalised
    assert result.interpreted["year"] == int(normalised[:4])


# --- coordinates ------------------------------------------------------------------------------


def test_zero_coordinate():
    result = run(BERLIN_OAK, decimalLatitude=0, decimalLongitude=0, country=None, countryCode=None)
    assert result.flags() == ["ZERO_COORDINATE"]
    assert issue(result, "ZERO_COORDINATE").terms == ("dwc:decimalLatitude", "dwc:decimalLongitude")


def test_zero_latitude_alone_is_not_a_zero_coordinate():
    # on the equator in Uganda, north of Lake Victoria
    assert flags(BERLIN_OAK, decimalLatitude="0", decimalLongitude="32.5", country="Uganda",
                 countryCode="UG") == []  # fmt: skip


def test_coordinate_out_of_range():
    result = run(BERLIN_OAK, decimalLatitude=152.4, decimalLongitude=213.3, country=None,
                 countryCode=None)  # fmt: skip
    assert result.flags() == ["COORDINATE_OUT_OF_RANGE"]
    assert result.interpreted["hasCoordinates"] is False
    assert "decimalLatitude" not in result.interpreted


def test_coordinates_at_the_limits_are_in_range():
    result = run(BERLIN_OAK, decimalLatitude=-90, decimalLongitude=180, country=None,
                 countryCode=None)  # fmt: skip
    assert "COORDINATE_OUT_OF_RANGE" not in result.flags()
    assert result.interpreted["hasCoordinates"] is True


def test_latitude_out_of_range_that_fits_as_longitude_is_swapped():
    # Sydney with latitude and longitude exchanged
    result = run(BERLIN_OAK, decimalLatitude=151.2, decimalLongitude=-33.87, country="Australia",
                 countryCode="AU")  # fmt: skip
    assert result.flags() == ["PRESUMED_SWAPPED_COORDINATE"]
    assert (result.interpreted["decimalLatitude"], result.interpreted["decimalLongitude"]) == (
        -33.87,
        151.2,
    )


def test_swap_back_into_the_stated_country():
    # Seferihisar (Izmir) written as longitude, latitude: the point lands in Saudi Arabia
    result = run(BOLKAR_YARROW, decimalLatitude=26.85083, decimalLongitude=38.10695)
    assert result.flags() == ["PRESUMED_SWAPPED_COORDINATE"]
    assert result.interpreted["decimalLatitude"] == 38.10695
    assert result.interpreted["countryCode"] == "TR"


def test_no_swap_when_the_point_is_already_in_the_country():
    assert flags(BOLKAR_YARROW, decimalLatitude=38.10695, decimalLongitude=26.85083) == []


def test_presumed_negated_latitude():
    result = run(BERLIN_OAK, decimalLatitude=-52.4555)
    assert result.flags() == ["PRESUMED_NEGATED_LATITUDE"]
    assert result.interpreted["decimalLatitude"] == 52.4555


def test_presumed_negated_longitude():
    result = run(BOLKAR_YARROW, decimalLongitude=-34.568)
    assert result.flags() == ["PRESUMED_NEGATED_LONGITUDE"]
    assert result.interpreted["decimalLongitude"] == 34.568


def test_negative_coordinates_inside_the_country_are_kept():
    # Cape Town: both negative, and correct
    result = run(BERLIN_OAK, decimalLatitude=-33.93, decimalLongitude=18.42, country="South Africa",
                 countryCode="ZA")  # fmt: skip
    assert result.flags() == []
    assert result.interpreted["decimalLatitude"] == -33.93


def test_country_coordinate_mismatch():
    result = run(BERLIN_OAK, country="Poland", countryCode="PL")
    assert result.flags() == ["COUNTRY_COORDINATE_MISMATCH"]
    assert "Poland" in issue(result, "COUNTRY_COORDINATE_MISMATCH").message
    assert result.interpreted["decimalLatitude"] == 52.4555


def test_a_point_near_the_border_is_not_a_mismatch():
    # Frankfurt (Oder), about 1 km west of the Polish border, labelled Poland
    assert flags(BERLIN_OAK, decimalLatitude=52.3476, decimalLongitude=14.5506, country="Poland",
                 countryCode="PL") == []  # fmt: skip


def test_a_coastal_specimen_offshore_is_inside_the_tolerance():
    # about 1.5 km off Doganbey beach, Seferihisar, in the Aegean
    assert flags(BOLKAR_YARROW, decimalLatitude=38.10, decimalLongitude=26.83) == []


def test_a_point_far_out_at_sea_is_a_mismatch():
    # about 15 km off the Turkish coast, west of Seferihisar
    result = run(BOLKAR_YARROW, decimalLatitude=38.0, decimalLongitude=26.5)
    assert result.flags() == ["COUNTRY_COORDINATE_MISMATCH"]
    assert "5 km" in issue(result, "COUNTRY_COORDINATE_MISMATCH").message


def test_only_one_decimal_coordinate_is_invalid():
    result = run(BERLIN_OAK, decimalLongitude=None)
    assert result.flags() == ["COORDINATE_INVALID"]
    assert result.interpreted["hasCoordinates"] is False


def test_unreadable_verbatim_coordinates_are_invalid():
    result = run(BOLKAR_YARROW, decimalLatitude=None, decimalLongitude=None,
                 verbatimCoordinates="near the spring above the village")  # fmt: skip
    assert result.flags() == ["COORDINATE_INVALID"]
    assert issue(result, "COORDINATE_INVALID").terms == ("dwc:verbatimCoordinates",)


@pytest.mark.parametrize(
    "verbatim",
    [
        {"verbatimCoordinates": "N 38°06´25´´ O 26°51´03´´"},
        {"verbatimCoordinates": "38°06'25\"N, 26°51'03\"E"},
        {"verbatimCoordinates": "38.10695 26.85083"},
        {"verbatimLatitude": "38 06 25 N", "verbatimLongitude": "26d51m03s E"},
    ],
)
def test_readable_verbatim_coordinates_are_used_without_issue(verbatim):
    result = run(BOLKAR_YARROW, decimalLatitude=None, decimalLongitude=None, **verbatim)
    assert result.flags() == []
    assert round(result.interpreted["decimalLatitude"], 4) == 38.1069
    assert round(result.interpreted["decimalLongitude"], 4) == 26.8508


def test_verbatim_coordinates_are_ignored_when_decimal_ones_exist():
    assert flags(BERLIN_OAK, verbatimCoordinates="illegible") == []


def test_coordinate_uncertainty():
    assert flags(BERLIN_OAK, coordinateUncertaintyInMeters="0") == [
        "COORDINATE_UNCERTAINTY_METERS_INVALID"
    ]
    result = run(BERLIN_OAK, coordinateUncertaintyInMeters="30")
    assert result.flags() == []
    assert result.interpreted["coordinateUncertaintyInMeters"] == 30


def test_elevation_min_max_swapped_and_unlikely():
    swapped = run(BOLKAR_YARROW, maximumElevationInMeters="1200")
    assert swapped.flags() == ["ELEVATION_MIN_MAX_SWAPPED"]
    assert swapped.interpreted["minimumElevationInMeters"] == 1200
    assert flags(BOLKAR_YARROW, maximumElevationInMeters="2350") == []
    assert flags(BOLKAR_YARROW, minimumElevationInMeters="23500") == ["ELEVATION_UNLIKELY"]
    assert flags(BOLKAR_YARROW, minimumElevationInMeters="8848") == []


# --- countries --------------------------------------------------------------------------------


@pytest.mark.parametrize(("country", "code"), [("Atlantis", "TR"), ("Turkey", "TRK")])
def test_unrecognised_country_is_invalid(country, code):
    result = run(BOLKAR_YARROW, country=country, countryCode=code)
    assert result.flags() == ["COUNTRY_INVALID"]
    assert result.interpreted["countryCode"] == "TR"


def test_with_no_recognisable_country_it_is_derived_from_the_point():
    result = run(BOLKAR_YARROW, countryCode="XY")
    assert result.flags() == ["COUNTRY_DERIVED_FROM_COORDINATES", "COUNTRY_INVALID"]
    assert result.interpreted["countryCode"] == "TR"


@pytest.mark.parametrize(
    ("country", "code"),
    [
        ("Turkey", "TR"),
        ("Türkiye", "tr"),
        ("TURKEY", " TUR "),
        ("Türkei", None),
        ("Republic of Türkiye", None),
    ],
)
def test_country_names_codes_and_aliases_are_recognised(country, code):
    result = run(BOLKAR_YARROW, country=country, countryCode=code)
    assert result.flags() == []
    assert result.interpreted["countryCode"] == "TR"


def test_country_mismatch():
    result = run(BERLIN_OAK, country="Germany", countryCode="TR")
    assert "COUNTRY_MISMATCH" in result.flags()
    assert "Germany" in issue(result, "COUNTRY_MISMATCH").message


def test_mismatched_country_terms_keep_the_one_the_point_lies_in():
    result = run(BERLIN_OAK, country="Germany", countryCode="TR")
    assert result.flags() == ["COUNTRY_MISMATCH"]
    assert result.interpreted["countryCode"] == "DE"


def test_a_territory_and_its_country_do_not_mismatch():
    # Cayenne, French Guiana, which Natural Earth draws as part of France
    result = run(BERLIN_OAK, country="France", countryCode="GF", decimalLatitude=4.93,
                 decimalLongitude=-52.33)  # fmt: skip
    assert result.flags() == []
    assert result.interpreted["countryCode"] == "GF"


def test_country_derived_from_coordinates():
    result = run(BERLIN_OAK, country=None, countryCode=None)
    assert result.flags() == ["COUNTRY_DERIVED_FROM_COORDINATES"]
    assert issue(result, "COUNTRY_DERIVED_FROM_COORDINATES").severity == "WARNING"
    assert (result.interpreted["countryCode"], result.interpreted["country"]) == ("DE", "Germany")


def test_no_country_is_derived_at_sea_or_when_one_is_given():
    assert flags(BERLIN_OAK, country=None, countryCode=None, decimalLatitude=54.8,
                 decimalLongitude=3.0) == []  # fmt: skip
    assert "COUNTRY_DERIVED_FROM_COORDINATES" not in flags(BERLIN_OAK, countryCode=None)


def test_a_territory_is_derived_from_its_box():
    result = run(BERLIN_OAK, country=None, countryCode=None, decimalLatitude=4.93,
                 decimalLongitude=-52.33)  # fmt: skip
    assert result.interpreted["countryCode"] == "GF"


# --- dates ------------------------------------------------------------------------------------


def test_day_that_does_not_exist_in_its_month_is_invalid():
    result = run(BERLIN_OAK, eventDate=None, year="2021", month="6", day="31")
    assert result.flags() == ["RECORDED_DATE_INVALID"]
    assert result.interpreted["eventDate"] == "2021-06"
    assert "day" not in result.interpreted


def test_last_day_of_a_long_month_is_valid():
    result = run(BERLIN_OAK, eventDate=None, year=2021, month=7, day=31)
    assert result.flags() == []
    assert result.interpreted["eventDate"] == "2021-07-31"


def test_month_thirteen_given_as_a_number_is_invalid():
    assert flags(BERLIN_OAK, eventDate=None, year=2021, month=13) == ["RECORDED_DATE_INVALID"]


def test_reversed_interval_is_invalid():
    result = run(BERLIN_OAK, eventDate="1931-07-02/1931-06-27")
    assert result.flags() == ["RECORDED_DATE_INVALID"]
    assert "eventDate" not in result.interpreted


def test_unreadable_verbatim_event_date_without_event_date_is_invalid():
    result = run(BERLIN_OAK, eventDate=None, verbatimEventDate="summer '69")
    assert result.flags() == ["RECORDED_DATE_INVALID"]
    assert issue(result, "RECORDED_DATE_INVALID").terms == ("dwc:verbatimEventDate",)


@pytest.mark.parametrize(
    ("verbatim", "normalised"),
    [("27.VI.1931", "1931-06-27"), ("27 June 1931", "1931-06-27"), ("VI.1931", "1931-06")],
)
def test_readable_verbatim_event_date_is_used(verbatim, normalised):
    result = run(BERLIN_OAK, eventDate=None, verbatimEventDate=verbatim)
    assert result.flags() == []
    assert result.interpreted["eventDate"] == normalised


def test_verbatim_event_date_is_not_read_when_event_date_exists():
    assert flags(BERLIN_OAK, verbatimEventDate="summer '69") == []


def test_event_date_and_year_month_day_that_disagree():
    result = run(BERLIN_OAK, eventDate="1931-06-27", year="1932")
    assert result.flags() == ["RECORDED_DATE_MISMATCH"]
    assert result.interpreted["year"] == 1931


def test_year_month_inside_the_event_interval_agree():
    assert flags(BERLIN_OAK, year=1931, month=7) == []


def test_recorded_date_in_the_future_is_unlikely():
    assert flags(BERLIN_OAK, eventDate="2026-01-16") == ["RECORDED_DATE_UNLIKELY"]
    assert flags(BERLIN_OAK, eventDate="2026-01-15") == []
    assert flags(BERLIN_OAK, eventDate="2026") == []


def test_recorded_date_before_1600_is_unlikely():
    assert flags(BERLIN_OAK, eventDate="1599") == ["RECORDED_DATE_UNLIKELY"]
    assert flags(BERLIN_OAK, eventDate="1600-01-01") == []


def test_today_defaults_to_the_current_date():
    assert "RECORDED_DATE_UNLIKELY" in interpret({"dwc:eventDate": "2999-01-01"}).flags()


@pytest.mark.parametrize(
    ("identified", "unlikely"),
    [
        ("2026-02-01", True),
        ("1931-06-26", True),
        ("1931-06-27", False),
        ("1931-07", False),
        ("1998-05-04", False),
    ],
)
def test_identified_date_in_the_future_or_before_collection_is_unlikely(identified, unlikely):
    result = run(BERLIN_OAK, dateIdentified=identified)
    assert ("IDENTIFIED_DATE_UNLIKELY" in result.flags()) is unlikely
    assert result.interpreted["dateIdentified"] == identified


def test_identified_date_before_species_plantarum_is_unlikely():
    assert flags(BERLIN_OAK, eventDate=None, dateIdentified="1752") == ["IDENTIFIED_DATE_UNLIKELY"]
    assert flags(BERLIN_OAK, eventDate=None, dateIdentified="1753") == []


# --- vocabularies -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "basis",
    [
        "PreservedSpecimen",
        "preservedspecimen",
        "PRESERVED_SPECIMEN",
        "Preserved specimen",
        "dwc:PreservedSpecimen",
        "http://rs.tdwg.org/dwc/terms/PreservedSpecimen",
        "Herbarium sheet",
        "specimen",
    ],
)
def test_basis_of_record_aliases_interpret_to_the_darwin_core_class(basis):
    result = run(BERLIN_OAK, basisOfRecord=basis)
    assert result.flags() == []
    assert result.interpreted["basisOfRecord"] == "PreservedSpecimen"


def test_gbif_legacy_basis_of_record_values():
    assert run(BERLIN_OAK, basisOfRecord="OBSERVATION").interpreted["basisOfRecord"] == (
        "HumanObservation"
    )
    assert run(BERLIN_OAK, basisOfRecord="LITERATURE").interpreted["basisOfRecord"] == (
        "MaterialCitation"
    )


@pytest.mark.parametrize("basis", ["Specimin", "herbarium", "Event"])
def test_basis_of_record_invalid(basis):
    result = run(BERLIN_OAK, basisOfRecord=basis)
    assert result.flags() == ["BASIS_OF_RECORD_INVALID"]
    assert "basisOfRecord" not in result.interpreted


@pytest.mark.parametrize(
    ("status", "word"),
    [
        ("holotype of Abies alba Mill.", "Holotype"),
        ("ISOTYPE", "Isotype"),
        ("Isotypus", "Isotype"),
        ("Isolectotype: Quercus robur L.", "Isolectotype"),
        ("Lectotypes", "Lectotype"),
        ("ex-holotype", "Ex-holotype"),
        ("Type species", "Type species"),
        ("not a type", "Not a type"),
        ("Holotipo de Quercus humboldtii Bonpl.", "Holotype"),
        ("Isotype of Quercus robur L. | Isolectotype of Quercus pedunculata Ehrh.", "Isotype"),
    ],
)
def test_type_status_words_are_recognised(status, word):
    result = run(BERLIN_OAK, typeStatus=status)
    assert result.flags() == []
    assert result.interpreted["typeStatus"] == word


@pytest.mark.parametrize("status", ["hollotype", "Holotype | paratipe", "specimen of Abies"])
def test_type_status_invalid(status):
    assert flags(BERLIN_OAK, typeStatus=status) == ["TYPE_STATUS_INVALID"]


def test_type_status_in_doubt_is_a_suspected_type():
    result = run(BERLIN_OAK, typeStatus="probable isotype of Quercus robur L.")
    assert result.flags() == ["SUSPECTED_TYPE"]
    assert result.interpreted["typeStatus"] == "Isotype"
    assert flags(BERLIN_OAK, typeStatus="Holotype?") == ["SUSPECTED_TYPE"]


# --- taxon ------------------------------------------------------------------------------------


def test_exact_match_with_authorship():
    result = run(BOLKAR_YARROW)
    taxon = result.interpreted["taxon"]
    assert (taxon["matchType"], taxon["matchedName"]) == ("EXACT", "Achillea falcata")
    assert (taxon["family"], taxon["order"]) == ("Asteraceae", "Asterales")


def test_misspelt_name_matches_fuzzily():
    result = run(BOLKAR_YARROW, scientificName="Achilea falcata L.")
    assert result.flags() == ["TAXON_MATCH_FUZZY"]
    assert result.interpreted["taxon"]["matchedName"] == "Achillea falcata"
    assert result.interpreted["taxon"]["matchType"] == "FUZZY"


def test_unknown_species_of_a_known_genus_matches_the_genus():
    # an old combination: today Pseudodictamnus acetabulosus, so only Ballota is listed
    result = run(BOLKAR_YARROW, scientificName="Ballota acetabulosa (L.) Benth.",
                 family="Lamiaceae")  # fmt: skip
    assert result.flags() == ["TAXON_MATCH_HIGHERRANK"]
    taxon = result.interpreted["taxon"]
    assert (taxon["matchType"], taxon["matchedName"]) == ("HIGHERRANK", "Ballota")
    assert (taxon["genus"], taxon["specificEpithet"]) == ("Ballota", "acetabulosa")
    assert taxon["family"] == "Lamiaceae"


def test_uncertain_identification_matches_the_genus():
    assert flags(BERLIN_OAK, scientificName="Quercus cf. robur") == ["TAXON_MATCH_HIGHERRANK"]


def test_unknown_name_with_a_known_family_matches_the_family():
    result = run(BERLIN_OAK, scientificName="Xyzzy plugh", genus=None)
    assert result.flags() == ["TAXON_MATCH_HIGHERRANK"]
    assert result.interpreted["taxon"]["matchedName"] == "Fagaceae"


def test_nothing_known_matches_nothing():
    result = run(BERLIN_OAK, scientificName="Xyzzy plugh", kingdom=None, family=None, genus=None)
    assert result.flags() == ["TAXON_MATCH_NONE"]
    assert result.interpreted["taxon"]["matchType"] == "NONE"


def test_higher_ranks_come_from_the_record_when_nothing_matches():
    result = run(BERLIN_OAK, scientificName="Xyzzy plugh", kingdom=None, family="Xyzzyaceae",
                 genus=None)  # fmt: skip
    assert result.interpreted["taxon"]["family"] == "Xyzzyaceae"


def test_name_is_built_from_genus_and_epithet_when_missing():
    result = run(BERLIN_OAK, scientificName=None, specificEpithet="robur")
    assert result.flags() == []
    assert result.interpreted["taxon"]["matchedName"] == "Quercus robur"


def test_record_without_taxon_terms_has_no_taxon():
    result = interpret({"dwc:catalogNumber": "B 10 0154321"}, today=TODAY)
    assert result.flags() == []
    assert "taxon" not in result.interpreted


# --- media ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "value"),
    [
        ("dwc:associatedMedia", "https://herbarium.bgbm.org/a.jpg | ftp://bgbm.org/b.jpg"),
        ("dwc:associatedMedia", "B100154321.jpg"),
        ("ac:accessURI", ["https://herbarium.bgbm.org/a.jpg", "https://"]),
        ("ac:accessURI", "https://herbarium.bgbm.org/a b.jpg"),
    ],
)
def test_multimedia_uri_invalid(term, value):
    result = run(BERLIN_OAK, **{term: value})
    assert result.flags() == ["MULTIMEDIA_URI_INVALID"]
    assert issue(result, "MULTIMEDIA_URI_INVALID").terms == (term,)


def test_absolute_web_uris_are_valid():
    assert (
        flags(
            BERLIN_OAK,
            **{
                "dwc:associatedMedia": "https://herbarium.bgbm.org/a.jpg | http://ww2.bgbm.org/b.png",
                "ac:accessURI": ["https://iiif.bgbm.org/B100154321/full/max/0/default.jpg"],
            },
        )
        == []
    )


# --- real data --------------------------------------------------------------------------------


def test_the_pontaurus_archive_interprets_and_rejects_only_unreadable_elevations():
    """All 1,534 BGBM rows (pre-standard column names) interpret, except those whose elevation
    is no number ("~ 1800", "2600-3000", "?"): they are refused naming the field."""
    archive = SHARED / "gbif-dwca-io" / "archive-occ.zip"
    with zipfile.ZipFile(archive) as zf:
        text = zf.read("archive-occ/DarwinCore.txt").decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    columns = {
        "SCIENTIFIC_NAME": "scientificName",
        "COUNTRY": "countryCode",
        "DECIMAL_LATITUDE": "decimalLatitude",
        "DECIMAL_LONGITUDE": "decimalLongitude",
        "EARLIEST_DATE_COLLECTED": "eventDate",
        "BASIS_OF_RECORD": "basisOfRecord",
        "KINGDOM": "kingdom",
        "FAMILY": "family",
        "MINIMUM_ELEVATION_IN_METERS": "minimumElevationInMeters",
    }
    counts: dict[str, int] = {}
    refused = set()
    for row in rows:
        values = {f"dwc:{term}": row[column] for column, term in columns.items()}
        try:
            result = interpret(values, today=TODAY)
        except MalformedValue as error:
            assert error.field == "dwc:minimumElevationInMeters"
            refused.add(row["MINIMUM_ELEVATION_IN_METERS"])
            continue
        assert result.interpreted["countryCode"] == "TR"
        assert result.interpreted["year"] == 1999
        for name in result.flags():
            counts[name] = counts.get(name, 0) + 1
    assert len(rows) == 1534
    assert refused == {"~ 1800", "?", "2600-3000"}
    assert counts.get("COUNTRY_COORDINATE_MISMATCH", 0) < 30, counts
    assert counts.get("TAXON_MATCH_NONE", 0) == 0, counts
    assert not {"BASIS_OF_RECORD_INVALID", "RECORDED_DATE_INVALID"} & set(counts), counts
