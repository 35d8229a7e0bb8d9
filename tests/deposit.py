"""REST deposit helpers shared by the end-to-end tests: metadata, uploads, publishing."""

import io
import time

import requests
from PIL import Image

from live_instance import SHARED_DATA


class Api(requests.Session):
    """A REST API client for one user of the live instance."""

    def __init__(self, base: str, token: str | None = None) -> None:
        super().__init__()
        self.base = base
        self.headers["Accept"] = "application/json"
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def request(self, method, url, *args, **kwargs):
        if url.startswith("/"):
            url = self.base + url
        kwargs.setdefault("timeout", 120)
        return super().request(method, url, *args, **kwargs)


def specimen_metadata(title: str) -> dict:
    """DataCite-complete metadata of a herbarium sheet image record."""
    return {
        "access": {"record": "public", "files": "public"},
        "files": {"enabled": True},
        "metadata": {
            "resource_type": {"id": "image-photo"},
            "title": title,
            "publication_date": "2026-11-22",
            "publisher": "Specimen RDM",
            "creators": [
                {
                    "person_or_org": {
                        "type": "personal",
                        "given_name": "Kim",
                        "family_name": "Milleville",
                    },
                    "affiliations": [{"name": "Ghent University"}],
                }
            ],
            "description": "Digitised herbarium sheet with labels, barcode and stamps.",
            "rights": [{"id": "cc-by-4.0"}],
            "languages": [{"id": "eng"}],
            "subjects": [{"subject": "herbarium"}],
        },
    }


def darwin_core_record(title: str, **terms) -> dict:
    """Metadata of a specimen record (`image-specimen`) with Darwin Core values.

    Keyword arguments are Darwin Core terms without prefix: `darwin_core_record("x",
    catalogNumber="B 10 0001", decimalLatitude=52.45)`.
    """
    data = specimen_metadata(title)
    data["metadata"]["resource_type"] = {"id": "image-specimen"}
    data["custom_fields"] = {f"dwc:{term}": value for term, value in terms.items()}
    return data


def sheet_jpeg(name: str = "BM000521755") -> bytes:
    """A real herbarium sheet (JPEG) from the shared sample data."""
    return (SHARED_DATA / "herbarium" / "sheets" / "img" / f"{name}.jpg").read_bytes()


def sheet_tiff(name: str = "L__0059912") -> bytes:
    """A real herbarium sheet converted to an (uncompressed, RGB) TIFF."""
    buffer = io.BytesIO()
    with Image.open(SHARED_DATA / "herbarium" / "sheets" / "img" / f"{name}.jpg") as image:
        image.convert("RGB").save(buffer, format="TIFF")
    return buffer.getvalue()


def upload(api: Api, draft_id: str, key: str, content: bytes) -> None:
    """Upload one file to a draft through the three-step REST flow."""
    files = f"/api/records/{draft_id}/draft/files"
    response = api.post(files, json=[{"key": key}])
    assert response.status_code == 201, response.text
    response = api.put(
        f"{files}/{key}/content",
        data=content,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 200, response.text
    response = api.post(f"{files}/{key}/commit")
    assert response.status_code == 200, response.text
    if key.lower().endswith((".jpg", ".jpeg", ".png", ".tif", ".tiff")):
        # InvenioRDM reads an image's width and height in a task on the draft's file; a publish
        # before that task ran leaves the record without them for good (no IIIF canvas), as a
        # depositor who publishes within a second of uploading would find. Wait for it.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if api.get(f"{files}/{key}").json().get("metadata"):
                break
            time.sleep(0.3)


def create_draft(api: Api, title: str) -> dict:
    """Create a draft with complete metadata; its JSON."""
    response = api.post("/api/records", json=specimen_metadata(title))
    assert response.status_code == 201, response.text
    return response.json()


def publish(api: Api, draft_id: str) -> dict:
    """Publish a draft; the published record's JSON."""
    response = api.post(f"/api/records/{draft_id}/draft/actions/publish")
    assert response.status_code == 202, response.text
    return response.json()


def publish_sheet(api: Api, title: str, files: dict[str, bytes] | None = None) -> dict:
    """Create, upload and publish a record; the published record's JSON."""
    draft = create_draft(api, title)
    for key, content in (files or {"sheet.jpg": sheet_jpeg()}).items():
        upload(api, draft["id"], key, content)
    return publish(api, draft["id"])


def wait_for(predicate, timeout: float = 60, interval: float = 0.5, what: str = "condition"):
    """Poll until `predicate()` returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
