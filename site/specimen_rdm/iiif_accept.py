"""IIIF info.json and manifests for clients that ask for JSON explicitly.

The IIIF Image and Presentation APIs serve `application/json` by default and JSON-LD when asked
for it. InvenioRDM 14's IIIF resource negotiates twice (JSON-LD in an outer decorator, JSON in
an inner one), so any explicit `Accept: application/json` or `application/ld+json` gets a 406
and only `*/*` works. Before an IIIF request reaches the resource, a JSON(-LD) Accept header is
widened to `*/*`; the response then carries the content type the client asked for.
"""

from flask import Flask, Response, request

from .config import IIIF_BLUEPRINT

JSON_TYPES = ("application/json", "application/ld+json")


def _requested_json_type() -> str | None:
    for mimetype, _quality in request.accept_mimetypes:
        if mimetype in JSON_TYPES:
            return mimetype
    return None


def widen_json_accept() -> None:
    """Let InvenioRDM's IIIF resource answer a request that asks for JSON or JSON-LD."""
    if request.blueprint != IIIF_BLUEPRINT:
        return
    wanted = _requested_json_type()
    if wanted:
        request.environ["specimen_rdm.iiif_json_type"] = wanted
        request.environ["HTTP_ACCEPT"] = "*/*"
        request.__dict__.pop("accept_mimetypes", None)


def restore_json_type(response: Response) -> Response:
    """Answer JSON documents with the JSON content type the client asked for."""
    wanted = request.environ.get("specimen_rdm.iiif_json_type")
    if wanted and response.mimetype in JSON_TYPES:
        response.mimetype = wanted
    return response


def register(app: Flask) -> None:
    """Install the request/response hooks on an application (the API app serves IIIF)."""
    app.before_request(widen_json_accept)
    app.after_request(restore_json_type)
