"""The journal keeps batch tokens, uploads and outcomes across runs."""

from specimen_upload.journal import Journal


def test_state_survives_reopening(tmp_path):
    path = tmp_path / "j.sqlite"
    journal = Journal(path)
    journal.add_records([("k1", 2, 0, {"id": "k1", "files": [{"sha256": "a" * 64}]}),
                         ("k2", 3, 0, {"id": "k2", "files": []})])  # fmt: skip
    journal.add_files([("a" * 64, 10, "/x/a.jpg")])
    token = journal.batch(0, lambda: "token-1")["token"]
    journal.set_batch(0, job_id="job-1", state="submitted")
    journal.file_uploaded("a" * 64)
    journal.count("retry:502", 3)
    journal.close()

    journal = Journal(path)
    journal.add_records([("k1", 2, 0, {"id": "k1", "changed": True})])  # ignored: known key
    batch = journal.batch(0, lambda: "token-2")
    assert batch == {"batch": 0, "token": token, "job_id": "job-1", "state": "submitted"}
    assert journal.batch_lines(0)[0] == {"id": "k1", "files": [{"sha256": "a" * 64}]}
    assert journal.batch_files(0) == [("a" * 64, 10, "/x/a.jpg", True)]
    assert journal.counters() == {"retry:502": 3}
    journal.record_outcomes(
        [{"key": "k1", "state": "published", "record_id": "r1", "doi": "10.1/x", "reasons": []}]
    )
    states = {o["key"]: (o["state"], o["record_id"]) for o in journal.outcomes()}
    assert states == {"k1": ("published", "r1"), "k2": ("new", None)}


def test_hash_cache_notices_changed_files(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    journal.remember_hash("/x/a.jpg", 10, 1.0, "b" * 64)
    assert journal.cached_hash("/x/a.jpg", 10, 1.0) == "b" * 64
    assert journal.cached_hash("/x/a.jpg", 11, 1.0) is None
    assert journal.cached_hash("/x/a.jpg", 10, 2.0) is None
