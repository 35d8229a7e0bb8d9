"""Record-service components: Darwin Core interpretation, quality flags and duplicate checks.

They run on every path that writes a record (deposit form, REST API, bulk deposit, archive
import), so all of them validate the same way. Appended to InvenioRDM's default components in
`SPECIMEN_RECORDS_SERVICE_COMPONENTS`.
"""

from dataclasses import asdict

from invenio_records_resources.services.records.components import ServiceComponent
from marshmallow import ValidationError

from .custom_fields import QUALITY_FIELD, SPECIMEN_FIELD_NAMES
from .duplicates import DuplicateSpecimenError, find_by_image, find_by_terms
from .image_checksums import image_digests
from .quality_flags import MalformedValue, interpret

SPECIMEN_PREFIXES = ("dwc:", "ac:")


def specimen_values(custom_fields: dict) -> dict:
    """The Darwin Core / Audubon Core values among a record's custom fields."""
    return {k: v for k, v in custom_fields.items() if k.startswith(SPECIMEN_PREFIXES)}


def quality_of(custom_fields: dict) -> dict:
    """`specimen:quality` for these values: GBIF issues, flags and interpreted values.

    Raises a marshmallow ValidationError (a 400 naming the field) for a value that cannot be
    interpreted at all.
    """
    try:
        interpretation = interpret(specimen_values(custom_fields))
    except MalformedValue as error:
        raise ValidationError({"custom_fields": {error.field: [error.reason]}}) from error
    interpreted = dict(interpretation.interpreted)
    if interpreted.get("hasCoordinates"):
        interpreted["location"] = {
            "lat": interpreted["decimalLatitude"],
            "lon": interpreted["decimalLongitude"],
        }
    return {
        "flags": interpretation.flags(),
        "issues": [
            {**asdict(issue), "terms": list(issue.terms)} for issue in interpretation.issues
        ],
        "interpreted": interpreted,
    }


def _raise_for_specimen_errors(errors: list | None) -> None:
    """Malformed Darwin Core values fail the request instead of being dropped from a draft."""
    bad = {}
    for error in errors or []:
        field = error.get("field", "")
        name = field.removeprefix("custom_fields.")
        if field.startswith("custom_fields.") and name in SPECIMEN_FIELD_NAMES:
            bad[name] = error.get("messages", [])
    if bad:
        raise ValidationError({"custom_fields": bad})


class SpecimenQualityComponent(ServiceComponent):
    """Interprets the Darwin Core values of a draft and stores flags beside them."""

    def _interpret(self, record, errors) -> None:
        _raise_for_specimen_errors(errors)
        custom_fields = record.get("custom_fields") or {}
        custom_fields.pop(QUALITY_FIELD, None)
        if specimen_values(custom_fields):
            custom_fields[QUALITY_FIELD] = quality_of(custom_fields)
        record["custom_fields"] = custom_fields

    def create(self, identity, data=None, record=None, errors=None, **kwargs):
        """Interpret a new draft's values."""
        self._interpret(record, errors)

    def update_draft(self, identity, data=None, record=None, errors=None, **kwargs):
        """Interpret an updated draft's values."""
        self._interpret(record, errors)


class SpecimenDuplicatesComponent(ServiceComponent):
    """Refuses a deposit that duplicates a published specimen (HTTP 409 with its id)."""

    def _check_terms(self, record) -> None:
        custom_fields = record.get("custom_fields") or {}
        if not specimen_values(custom_fields):
            return
        duplicate = find_by_terms(custom_fields, exclude_parent_id=record.parent.id)
        if duplicate:
            raise DuplicateSpecimenError(duplicate)

    def create(self, identity, data=None, record=None, errors=None, **kwargs):
        """Check a new draft's identifiers."""
        self._check_terms(record)

    def update_draft(self, identity, data=None, record=None, errors=None, **kwargs):
        """Check an updated draft's identifiers."""
        self._check_terms(record)

    def publish(self, identity, draft=None, record=None, **kwargs):
        """Check identifiers and image digests again, and store the digests with the record."""
        custom_fields = record.get("custom_fields") or {}
        if not specimen_values(custom_fields):
            return
        self._check_terms(record)
        # After the files component ran: the draft's files now belong to the record.
        digests = sorted(set(image_digests(record.files).values())) if record.files.enabled else []
        duplicate = find_by_image(digests, exclude_parent_id=record.parent.id)
        if duplicate:
            raise DuplicateSpecimenError(duplicate)
        # Interpreted again: publishing cleans empty lists (no flags) out of the draft's copy.
        quality = {**quality_of(custom_fields), "image_sha256": digests}
        record["custom_fields"] = {**custom_fields, QUALITY_FIELD: quality}


SPECIMEN_COMPONENTS = [SpecimenQualityComponent, SpecimenDuplicatesComponent]
"""Components that `invenio.cfg` appends to InvenioRDM's record-service components."""
