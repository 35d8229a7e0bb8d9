"""Clear 4xx answers from the IIIF Image API when a stored image cannot be decoded.

InvenioRDM's IIIF resource maps its own errors to 4xx but lets Pillow's decoding errors (a
truncated or corrupt file: `OSError`, `UnidentifiedImageError`) through as 500s. A damaged scan
is a property of the data, not a server fault: the client gets 422 naming the file and the
reason, and the record stays usable.
"""

from flask import Flask, jsonify, request
from werkzeug.exceptions import InternalServerError

from .config import IIIF_BLUEPRINT


def undecodable_image(error: OSError):
    """422 JSON for IIIF image requests whose file Pillow cannot decode; 500 elsewhere."""
    if request.blueprint != IIIF_BLUEPRINT:
        raise InternalServerError(original_exception=error)
    identifier = (request.view_args or {}).get("uuid", "")
    key = identifier.split(":", 2)[-1] if identifier.count(":") >= 2 else identifier
    response = jsonify(
        status=422,
        message=f"The image file {key!r} cannot be decoded: {error}.",
    )
    response.status_code = 422
    return response


def register(app: Flask) -> None:
    """Install the handler on an application (the API app serves IIIF)."""
    app.register_error_handler(OSError, undecodable_image)
