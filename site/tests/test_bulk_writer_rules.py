"""The bulk writer's rules that need no live stack: which records take the fast path, file
extensions as InvenioRDM reports them, image metadata of an upload."""

from pathlib import Path

import pytest
from flask import Flask

from specimen_rdm.bulk.processing import record_data
from specimen_rdm.bulk.writer import fast_path_ok, file_ext, file_metadata

SHEET = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "herbarium" / "sheets"


@pytest.fixture
def app():
    app = Flask("writer-test")
    app.config["RECORDS_RESOURCES_IMAGE_FORMATS"] = [".jpg", ".jpeg", ".png", ".tif", ".tiff"]
    with app.app_context():
        yield app


def specimen(**extra) -> dict:
    line = {
        "id": "k",
        "dwc": {"catalogNumber": "1", "institutionCode": "X"},
        "files": [{"key": "a.jpg", "size": 1, "sha256": "ab" * 32}],
        **extra,
    }
    return record_data(line, "Specimen RDM")[0]


def test_public_specimens_with_files_take_the_fast_path():
    assert fast_path_ok(specimen())


@pytest.mark.parametrize(
    "extra",
    [
        {"access": {"record": "restricted"}},
        {"access": {"files": "restricted"}},
        {"access": {"embargo": {"active": True, "until": "2030-01-01"}}},
        {"files": []},
        {"metadata": {"resource_type": {"id": "model"}}},
    ],
)
def test_everything_else_goes_through_the_records_service(extra):
    assert not fast_path_ok(specimen(**extra))


@pytest.mark.parametrize(
    ("key", "ext"),
    [("a.jpg", "jpg"), ("a.JPEG", "jpg"), ("scan.tif", "tiff"), ("x.ptif", "ptif"), ("x", "bin")],
)
def test_file_extensions_as_invenio_reports_them(key, ext):
    assert file_ext(key) == ext


def test_image_metadata_of_an_upload(app):
    image = next((SHEET / "img").glob("*.jpg"))
    from PIL import Image

    with Image.open(image) as opened:
        size = opened.size
    assert file_metadata("sheet.jpg", image) == {"width": size[0], "height": size[1]}
    assert file_metadata("notes.txt", image) is None
