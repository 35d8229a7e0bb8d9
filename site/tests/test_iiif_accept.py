"""Explicit JSON / JSON-LD Accept headers reach the IIIF views widened, answers keep the type."""

import pytest
from flask import Blueprint, Flask, jsonify, request

from specimen_rdm import iiif_accept


@pytest.fixture
def client():
    app = Flask("test")
    iiif = Blueprint("iiif", __name__)
    other = Blueprint("other", __name__)

    @iiif.route("/iiif/info.json")
    def info():
        return jsonify(accept=str(request.accept_mimetypes))

    @other.route("/other")
    def elsewhere():
        return jsonify(accept=str(request.accept_mimetypes))

    app.register_blueprint(iiif)
    app.register_blueprint(other)
    iiif_accept.register(app)
    return app.test_client()


@pytest.mark.parametrize("accept", ["application/json", "application/ld+json"])
def test_iiif_views_see_any_type_and_answer_the_requested_one(client, accept):
    response = client.get("/iiif/info.json", headers={"Accept": accept})
    assert response.get_json()["accept"] == "*/*"
    assert response.mimetype == accept


def test_other_views_keep_the_accept_header(client):
    response = client.get("/other", headers={"Accept": "application/ld+json"})
    assert response.get_json()["accept"] == "application/ld+json"
    assert response.mimetype == "application/json"
