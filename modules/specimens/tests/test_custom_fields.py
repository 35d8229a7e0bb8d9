"""Darwin Core custom fields: types and index mappings."""

import pytest
from marshmallow import ValidationError

from specimen_rdm_specimens.custom_fields import (
    NAMESPACES,
    QUALITY_FIELD,
    SPECIMEN_CUSTOM_FIELDS,
    SPECIMEN_FIELD_NAMES,
)

FIELDS = {field.name: field for field in SPECIMEN_CUSTOM_FIELDS}


def test_every_field_is_in_a_declared_namespace():
    for name in SPECIMEN_FIELD_NAMES:
        assert name.split(":")[0] in NAMESPACES


@pytest.mark.parametrize(
    ("term", "mapping_type"),
    [
        ("dwc:decimalLatitude", "double"),
        ("dwc:minimumElevationInMeters", "double"),
        ("dwc:year", "integer"),
        ("dwc:catalogNumber", "keyword"),
        ("dwc:locality", "text"),
    ],
)
def test_terms_are_typed(term, mapping_type):
    assert FIELDS[term].mapping["type"] == mapping_type


def test_numbers_accept_numeric_text_and_refuse_words():
    field = FIELDS["dwc:decimalLatitude"].field
    assert field.deserialize("52.45") == 52.45
    with pytest.raises(ValidationError):
        field.deserialize("abc")


@pytest.mark.parametrize(
    "value",
    ["1931-06-27/1931-07-02", "1931-06-27/07-02", "1931-06", "1931", "1999-07-12 00:00:00.0"],
)
def test_event_date_accepts_iso_dates_datetimes_and_intervals(value):
    assert FIELDS["dwc:eventDate"].field.deserialize(value) == value


@pytest.mark.parametrize("value", ["31/31/2020", "2020-13-01", "2021-02-29"])
def test_event_date_refuses_impossible_dates(value):
    with pytest.raises(ValidationError) as error:
        FIELDS["dwc:eventDate"].field.deserialize(value)
    assert value in str(error.value)


def test_event_date_is_indexed_as_the_days_it_covers():
    field = FIELDS["dwc:eventDate"]
    document = {"custom_fields": {"dwc:eventDate": "1931-06-27/07-02"}}
    field.dump(document)
    assert document["custom_fields"]["dwc:eventDate"] == {
        "date": "1931-06-27/07-02",
        "date_range": {"gte": "1931-06-27", "lte": "1931-07-02"},
    }
    field.load(document)
    assert document["custom_fields"]["dwc:eventDate"] == "1931-06-27/07-02"


def test_single_and_multi_valued_terms():
    from marshmallow import fields

    assert isinstance(FIELDS["dwc:associatedSequences"].field, fields.List)
    assert not isinstance(FIELDS["dwc:scientificName"].field, fields.List)


def test_quality_mapping_indexes_flags_and_location():
    properties = FIELDS[QUALITY_FIELD].mapping["properties"]
    assert properties["flags"] == {"type": "keyword"}
    interpreted = properties["interpreted"]["properties"]
    assert interpreted["location"] == {"type": "geo_point"}
    assert interpreted["year"] == {"type": "integer"}
