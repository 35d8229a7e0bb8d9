"""Explicit JSON / JSON-LD Accept headers reach the IIIF views widened, answers keep the type."""

import pytest
from flask import jsonify, request

from iiif_test_app import app_with_iiif_and_other
from specimen_rdm import iiif_accept


def echo_accept():
    return jsonify(accept=str(request.accept_mimetypes))


@pytest.fixture
def client():
    app = app_with_iiif_and_other("/iiif/info.json", echo_accept, echo_accept, iiif_accept.register)
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
