"""Undecodable images give IIIF clients a 422 naming the file; other OSErrors stay 500s."""

import io

import pytest
from PIL import Image

from iiif_test_app import app_with_iiif_and_other
from specimen_rdm import iiif_errors


def undecodable(uuid):
    with Image.open(io.BytesIO(b"\xff\xd8\xff\xe0 not really a jpeg")) as broken:
        broken.load()
    return "unreachable"


def disk_on_fire():
    raise OSError("disk on fire")


@pytest.fixture
def client():
    app = app_with_iiif_and_other(
        "/iiif/<path:uuid>/full/max/0/default.jpg", undecodable, disk_on_fire, iiif_errors.register
    )
    return app.test_client()


def test_undecodable_image_is_422_with_the_file_name(client):
    response = client.get("/iiif/record:abc12-def34:damaged.jpg/full/max/0/default.jpg")
    assert response.status_code == 422
    message = response.get_json()["message"]
    assert "'damaged.jpg' cannot be decoded" in message


def test_other_os_errors_remain_server_errors(client):
    assert client.get("/other").status_code == 500
