"""The kept JSON-schema validator of the bulk writer answers as `Record.validate` does."""

import pytest
from flask import Flask
from invenio_jsonschemas import InvenioJSONSchemas
from invenio_rdm_records.records.api import RDMParent, RDMRecord
from invenio_records import InvenioRecords
from jsonschema.exceptions import ValidationError

from specimen_rdm.bulk.schema_validation import RecordSchemaValidator

SCHEMA = RDMRecord.schema.value


@pytest.fixture(scope="module")
def validator():
    app = Flask("schema-validation-test")
    app.config.update(
        RECORDS_REFRESOLVER_CLS="invenio_records.resolver.InvenioRefResolver",
        RECORDS_REFRESOLVER_STORE="invenio_jsonschemas.proxies.current_refresolver_store",
        JSONSCHEMAS_HOST="localhost",
    )
    InvenioJSONSchemas(app)
    InvenioRecords(app)
    with app.app_context():
        yield RecordSchemaValidator(RDMRecord, SCHEMA)


def _error(validate):
    with pytest.raises(ValidationError) as caught:
        validate()
    return list(caught.value.absolute_path), caught.value.message


@pytest.mark.parametrize(
    "data",
    [
        {"metadata": {"title": 5}},
        {"metadata": {"title": "Quercus robur", "publication_date": 1901}},
        {"metadata": {"creators": [{"person_or_org": {"type": 3}}]}},
        {"access": {"record": ["public"]}},
        {"custom_fields": "not an object"},
    ],
)
def test_invalid_records_get_the_same_error(validator, data):
    record = RDMRecord({"$schema": SCHEMA, **data})
    assert _error(lambda: validator.validate(record)) == _error(record.validate)


def test_a_valid_record_passes_many_times(validator):
    record = RDMRecord(
        {
            "$schema": SCHEMA,
            "metadata": {"title": "Quercus robur", "resource_type": {"id": "image-specimen"}},
            "access": {"record": "public", "files": "public"},
        }
    )
    record.validate()
    for _ in range(3):
        validator.validate(record)


def test_a_record_of_another_schema_validates_itself(validator):
    parent = RDMParent({"$schema": RDMParent.schema.value, "access": {"owned_by": "nobody"}})
    assert _error(lambda: validator.validate(parent)) == _error(parent.validate)
