"""Links each canvas of InvenioRDM's IIIF manifest to the annotations of its image.

InvenioRDM serves IIIF Presentation 2.1 manifests; their canvases gain `otherContent` pointing
at `/api/annotations/pages/<record>/<file>`, the W3C AnnotationPage of that image, so IIIF
viewers load the same overlays as the landing page.
"""

import json

from flask import Flask, Response, current_app, request

MANIFEST_ENDPOINTS = ("iiif.manifest", "iiif.sequence", "iiif.canvas")


def _page_url(recid: str, key: str) -> str:
    return f"{current_app.config['SITE_API_URL']}/annotations/pages/{recid}/{key}"


def _canvases(document: dict) -> list[dict]:
    if document.get("@type") == "sc:Canvas":
        return [document]
    sequences = document.get("sequences") or ([document] if "canvases" in document else [])
    return [canvas for sequence in sequences for canvas in sequence.get("canvases", [])]


def link_annotation_pages(response: Response) -> Response:
    """Add `otherContent` to the canvases of a successful manifest, sequence or canvas."""
    if request.endpoint not in MANIFEST_ENDPOINTS or response.status_code != 200:
        return response
    kind, _, recid = (request.view_args or {}).get("uuid", "").partition(":")
    if kind != "record" or not recid:
        return response
    document = json.loads(response.get_data())
    for canvas in _canvases(document):
        if canvas.get("label"):
            canvas["otherContent"] = [
                {"@id": _page_url(recid, canvas["label"]), "@type": "sc:AnnotationList"}
            ]
    response.set_data(json.dumps(document))
    return response


def register(app: Flask) -> None:
    """Install the response hook (the API app serves IIIF)."""
    app.after_request(link_annotation_pages)
