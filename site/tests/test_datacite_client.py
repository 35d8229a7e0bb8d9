"""The DataCite client honours DATACITE_URL, keeps prefixes text and formats DOIs."""

from types import SimpleNamespace

import pytest
from flask import Flask

from specimen_rdm.config import DATACITE_DOI_FORMAT
from specimen_rdm.datacite import SpecimenDataCiteClient
from specimen_rdm.ext import SpecimenRDM


@pytest.fixture
def app(monkeypatch):
    monkeypatch.setenv("INVENIO_DATACITE_PREFIX", "10.80000")
    app = Flask("test")
    app.config.update(
        DATACITE_ENABLED=True,
        DATACITE_USERNAME="SPECIMEN.TEST",
        DATACITE_PASSWORD="secret",
        DATACITE_PREFIX=10.8,  # what invenio-config makes of INVENIO_DATACITE_PREFIX=10.80000
        DATACITE_URL="http://127.0.0.1:9999/",
        DATACITE_FORMAT=DATACITE_DOI_FORMAT,
    )
    SpecimenRDM(app)
    return app


def test_prefix_from_the_environment_stays_text(app):
    assert app.config["DATACITE_PREFIX"] == "10.80000"


def test_client_talks_to_the_configured_url(app):
    with app.app_context():
        client = SpecimenDataCiteClient("datacite", config_prefix="DATACITE")
        assert client.has_credentials()
        assert client.api.api_url == "http://127.0.0.1:9999/"
        assert client.api.prefix == "10.80000"


def test_doi_format(app):
    record = SimpleNamespace(pid=SimpleNamespace(pid_value="abcd1-ef234"))
    with app.app_context():
        client = SpecimenDataCiteClient("datacite", config_prefix="DATACITE")
        assert client.generate_doi(record) == "10.80000/specimen-rdm.abcd1-ef234"


def test_without_credentials_the_client_is_local_only(app):
    app.config["DATACITE_PASSWORD"] = ""
    with app.app_context():
        assert not SpecimenDataCiteClient("datacite", config_prefix="DATACITE").has_credentials()
