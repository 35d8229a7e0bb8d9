"""IIIF Image and Presentation API for published images (JPEG and TIFF), corrupt images."""

import io

import pytest
from PIL import Image

from deposit import create_draft, publish, sheet_jpeg, sheet_tiff, upload

# IIIF clients ask for JSON or JSON-LD explicitly (InvenioRDM 14 alone answers those with 406;
# specimen_rdm.iiif_accept widens them).
JSON = {"Accept": "application/json"}
JSON_LD = {"Accept": "application/ld+json"}
JPEG_KEY = "BM000521755.jpg"
TIFF_KEY = "L__0059912.tif"


@pytest.fixture(scope="module")
def record(depositor):
    """A published record with a herbarium sheet as JPEG and another as TIFF."""
    draft = create_draft(depositor, "IIIF sheets BM000521755 and L__0059912")
    upload(depositor, draft["id"], JPEG_KEY, sheet_jpeg("BM000521755"))
    upload(depositor, draft["id"], TIFF_KEY, sheet_tiff("L__0059912"))
    return publish(depositor, draft["id"])


def image_size(content: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(content)) as image:
        return image.size


@pytest.mark.parametrize("key, source", [(JPEG_KEY, "BM000521755"), (TIFF_KEY, "L__0059912")])
def test_info_json_describes_the_image(anonymous, record, key, source):
    response = anonymous.get(f"/api/iiif/record:{record['id']}:{key}/info.json", headers=JSON)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    info = response.json()
    assert (info["width"], info["height"]) == image_size(sheet_jpeg(source))
    assert info["@id"].endswith(f"record:{record['id']}:{key}")
    assert "iiif.io/api/image" in info["@context"]


@pytest.mark.parametrize("key", [JPEG_KEY, TIFF_KEY])
def test_region_and_size_request_returns_exactly_that_size(anonymous, record, key):
    url = f"/api/iiif/record:{record['id']}:{key}/100,200,400,300/200,150/0/default.jpg"
    response = anonymous.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("image/jpeg")
    assert image_size(response.content) == (200, 150)


def test_manifest_lists_both_images(anonymous, record):
    response = anonymous.get(f"/api/iiif/record:{record['id']}/manifest", headers=JSON_LD)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/ld+json")
    manifest = response.json()
    canvases = manifest["sequences"][0]["canvases"]
    services = [canvas["images"][0]["resource"]["service"]["@id"] for canvas in canvases]
    assert any(s.endswith(f":{JPEG_KEY}") for s in services)
    assert any(s.endswith(f":{TIFF_KEY}") for s in services)
    jpeg_canvas = next(c for c in canvases if c["label"] == JPEG_KEY)
    assert (jpeg_canvas["width"], jpeg_canvas["height"]) == image_size(sheet_jpeg("BM000521755"))


def test_corrupt_jpeg_keeps_the_record_usable_and_iiif_answers_4xx(depositor, anonymous):
    corrupt = sheet_jpeg("BM000521755")[:2000]  # a JPEG cut off after its first bytes
    draft = create_draft(depositor, "Sheet with a damaged scan")
    upload(depositor, draft["id"], "damaged.jpg", corrupt)
    upload(depositor, draft["id"], "good.jpg", sheet_jpeg("12406"))
    record = publish(depositor, draft["id"])

    landing = anonymous.get(f"/records/{record['id']}", headers={"Accept": "text/html"})
    assert landing.status_code == 200
    assert anonymous.get(f"/api/records/{record['id']}").status_code == 200

    # The first 2000 bytes still hold the JPEG header, so info.json may describe the image;
    # decoding its pixels must fail with a client error that says why.
    base = f"/api/iiif/record:{record['id']}:damaged.jpg"
    info = anonymous.get(f"{base}/info.json", headers=JSON_LD)
    assert info.status_code in (200, 400, 422), info.text
    response = anonymous.get(f"{base}/full/200,/0/default.jpg", headers=JSON_LD)
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert "image" in response.json()["message"].lower()

    good = anonymous.get(f"/api/iiif/record:{record['id']}:good.jpg/full/200,/0/default.jpg")
    assert good.status_code == 200 and image_size(good.content)[0] == 200
    manifest = anonymous.get(f"/api/iiif/record:{record['id']}/manifest", headers=JSON_LD)
    assert manifest.status_code == 200, manifest.text
