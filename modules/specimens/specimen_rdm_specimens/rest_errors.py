"""REST answers for specimen errors: a duplicate is a 409 that names the existing record."""

import json

from flask_resources import HTTPJSONException, create_error_handler
from invenio_rdm_records.resources.config import error_handlers as rdm_error_handlers

from .duplicates import DuplicateSpecimenError


class DuplicateSpecimenResponse(HTTPJSONException):
    """409 Conflict with InvenioRDM's error shape and the existing record's id and links."""

    def __init__(self, error: DuplicateSpecimenError) -> None:
        """Answer for this duplicate."""
        super().__init__(code=409, description=str(error))
        self.error = error

    def get_body(self, environ=None, scope=None) -> str:
        """The JSON body."""
        return json.dumps(self.error.to_json())


SPECIMEN_RECORDS_ERROR_HANDLERS = {
    **rdm_error_handlers,
    DuplicateSpecimenError: create_error_handler(DuplicateSpecimenResponse),
}
"""`RDM_RECORDS_ERROR_HANDLERS`: InvenioRDM's handlers plus duplicates."""
