"""Deposit-form sections of the Darwin Core fields."""

from specimen_rdm_specimens.custom_fields import SPECIMEN_FIELD_NAMES
from specimen_rdm_specimens.form_sections import SPECIMEN_CUSTOM_FIELDS_UI, _label


def test_sections_are_grouped_like_darwin_core():
    titles = [str(section["section"]) for section in SPECIMEN_CUSTOM_FIELDS_UI]
    assert titles[:5] == [
        "Specimen: record",
        "Specimen: taxon",
        "Specimen: event",
        "Specimen: location",
        "Specimen: identification",
    ]


def test_every_form_field_is_a_custom_field():
    for section in SPECIMEN_CUSTOM_FIELDS_UI:
        for field in section["fields"]:
            assert field["field"] in SPECIMEN_FIELD_NAMES


def test_coordinates_are_number_inputs_with_the_server_ranges():
    fields = {f["field"]: f for s in SPECIMEN_CUSTOM_FIELDS_UI for f in s["fields"]}
    latitude = fields["dwc:decimalLatitude"]
    assert latitude["ui_widget"] == "NumberInput"
    assert (latitude["props"]["min"], latitude["props"]["max"]) == (-90, 90)
    assert fields["dwc:associatedSequences"]["ui_widget"] == "MultiInput"


def test_labels():
    assert _label("decimalLatitude") == "Decimal latitude"
    assert _label("occurrenceID") == "Occurrence ID"
