"""DataCite settings from the environment are read as text, quoted or not."""

import pytest
from flask import Flask

from specimen_rdm.ext import SpecimenRDM


@pytest.mark.parametrize("raw", ["10.80000", "'10.80000'", '"10.80000"'])
def test_prefix_is_text(monkeypatch, raw):
    monkeypatch.setenv("INVENIO_DATACITE_PREFIX", raw)
    app = Flask("test")
    SpecimenRDM(app)
    assert app.config["DATACITE_PREFIX"] == "10.80000"
