"""Bulk deposit without the live stack: batch checks, record data, part sizes, rate limit."""

import json
import os
import uuid

import pytest
from flask import Flask

from specimen_rdm.bulk.errors import BulkError
from specimen_rdm.bulk.models import BulkFile
from specimen_rdm.bulk.processing import record_data
from specimen_rdm.bulk.rate_limit import hit
from specimen_rdm.bulk.submission import canonical_hash, parse_batch
from specimen_rdm.bulk.uploads import expected_part_size
from specimen_rdm.ext import SpecimenRDM

DIGEST = "ab" * 32


@pytest.fixture
def app():
    app = Flask("bulk-test")
    port = os.environ.get("REDIS_PORT", "6379")
    app.config["RATELIMIT_STORAGE_URI"] = f"redis://127.0.0.1:{port}/13"
    SpecimenRDM(app)
    with app.app_context():
        yield app


def lines(*values) -> bytes:
    return "\n".join(v if isinstance(v, str) else json.dumps(v) for v in values).encode()


def test_a_good_batch(app):
    records = parse_batch(
        lines(
            {"id": "k1", "dwc": {"catalogNumber": "1"}, "files": []},
            "",
            {
                "id": "k2",
                "metadata": {"title": "x"},
                "files": [{"key": "a.jpg", "size": 10, "sha256": DIGEST}],
            },
        )  # fmt: skip
    )
    assert [(r.line, r.key) for r in records] == [(1, "k1"), (3, "k2")]
    assert records[1].files == [{"key": "a.jpg", "size": 10, "sha256": DIGEST}]


def test_every_structural_problem_is_named(app):
    with pytest.raises(BulkError) as error:
        parse_batch(
            lines(
                {"id": "k1", "dwc": {"a": "b"}},
                {"id": "k1", "dwc": {"a": "b"}},
                {"dwc": {"a": "b"}},
                {"id": "k3"},
                {"id": "k4", "dwc": [], "colour": 1},
                {
                    "id": "k5",
                    "dwc": {"a": "b"},
                    "files": [
                        {"key": "x/y.jpg", "size": -1, "sha256": "AB" * 32},
                        {"key": "z.jpg", "size": 1, "sha256": DIGEST},
                        {"key": "z.jpg", "size": 1, "sha256": DIGEST},
                    ],
                },
                "[1, 2",
                "[]",
            )  # fmt: skip
        )
    problems = {(e["line"], e["field"]) for e in error.value.errors}
    assert problems == {
        (2, "id"), (3, "id"), (4, "dwc"), (5, "dwc"), (5, "colour"),
        (6, "files.0.key"), (6, "files.0.size"), (6, "files.0.sha256"), (6, "files.2.key"),
        (7, ""), (8, ""),
    }  # fmt: skip
    assert error.value.status == 400 and "nothing was created" in error.value.message


def test_limits(app):
    app.config["SPECIMEN_BULK_MAX_RECORDS"] = 2
    batch = lines(*({"id": f"k{n}", "dwc": {"a": "b"}} for n in range(3)))
    with pytest.raises(BulkError, match="at most 2"):
        parse_batch(batch)
    app.config["SPECIMEN_BULK_MAX_BATCH_BYTES"] = 10
    with pytest.raises(BulkError) as error:
        parse_batch(batch)
    assert error.value.status == 413
    with pytest.raises(BulkError, match="no records"):
        app.config["SPECIMEN_BULK_MAX_BATCH_BYTES"] = 1000
        parse_batch(b"\n\n")


def test_canonical_hash_ignores_key_order():
    assert canonical_hash({"a": 1, "b": [1, 2]}) == canonical_hash({"b": [1, 2], "a": 1})
    assert canonical_hash({"a": 1}) != canonical_hash({"a": 2})


def test_record_data_maps_terms_like_an_archive_import():
    data, ignored = record_data(
        {
            "dwc": {
                "http://rs.tdwg.org/dwc/terms/ScientificName": "Quercus robur L.",
                "Collector": "A. Kerner",
                "dwc:catalogNumber": "B-1",
                "institutionCode": "B",
                "http://example.org/terms/colour": "green",
                "recordNumber": "",
            },
            "metadata": {"rights": [{"id": "cc-by-4.0"}]},
            "access": {"files": "restricted"},
            "files": [{"key": "a.jpg", "size": 1, "sha256": DIGEST}],
        },
        publisher="Specimen RDM",
    )
    fields = data["custom_fields"]
    assert fields["dwc:scientificName"] == "Quercus robur L."
    assert fields["dwc:recordedBy"] == "A. Kerner"  # pre-standard Collector
    assert data["metadata"]["title"] == "Quercus robur L. — B B-1"
    assert data["metadata"]["rights"] == [{"id": "cc-by-4.0"}]
    assert data["access"] == {"record": "public", "files": "restricted"}
    assert data["files"] == {"enabled": True}
    assert ignored == ["http://example.org/terms/colour"]


def test_part_sizes():
    upload = BulkFile(owner_id=1, sha256=DIGEST, size=250, part_size=100)
    assert upload.parts_total == 3
    assert [expected_part_size(upload, n) for n in (1, 2, 3)] == [100, 100, 50]
    with pytest.raises(BulkError):
        expected_part_size(upload, 4)
    assert BulkFile(owner_id=1, sha256=DIGEST, size=0, part_size=100).parts_total == 1


def test_rate_limit_counts_per_caller_and_window(app):
    app.config["SPECIMEN_BULK_RATE_LIMIT"] = (3, 60)
    caller, other = f"test:{uuid.uuid4()}", f"test:{uuid.uuid4()}"
    start = 1_000_040.0  # 20 s into a window (windows start at multiples of 60 s)
    assert [hit(caller, start + n) for n in range(3)] == [None, None, None]
    assert hit(caller, start + 3) == 37  # seconds until the window ends
    assert hit(other, start + 3) is None
    assert hit(caller, start + 40) is None  # the next window
