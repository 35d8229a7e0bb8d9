"""Undecodable images give IIIF clients a 422 naming the file; other OSErrors stay 500s."""

import io

import pytest
from flask import Blueprint, Flask
from PIL import Image

from specimen_rdm import iiif_errors


@pytest.fixture
def client():
    app = Flask("test")
    iiif = Blueprint("iiif", __name__)
    other = Blueprint("other", __name__)

    @iiif.route("/iiif/<path:uuid>/full/max/0/default.jpg")
    def image(uuid):
        with Image.open(io.BytesIO(b"\xff\xd8\xff\xe0 not really a jpeg")) as broken:
            broken.load()
        return "unreachable"

    @other.route("/other")
    def fails():
        raise OSError("disk on fire")

    app.register_blueprint(iiif)
    app.register_blueprint(other)
    iiif_errors.register(app)
    return app.test_client()


def test_undecodable_image_is_422_with_the_file_name(client):
    response = client.get("/iiif/record:abc12-def34:damaged.jpg/full/max/0/default.jpg")
    assert response.status_code == 422
    message = response.get_json()["message"]
    assert "'damaged.jpg' cannot be decoded" in message


def test_other_os_errors_remain_server_errors(client):
    assert client.get("/other").status_code == 500
