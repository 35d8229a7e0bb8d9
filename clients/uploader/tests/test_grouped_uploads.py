"""Small files go up together: how the client groups them, and the tar it sends."""

import io
import tarfile

from specimen_upload.api import _tar
from specimen_upload.uploader import Settings, Uploader

MIB = 1024 * 1024


def _uploader(**settings) -> Uploader:
    return Uploader(api=None, journal=None, settings=Settings(**settings))


def _rows(*sizes):
    return [(f"{n:064x}", size, f"/data/{n}.jpg", False) for n, size in enumerate(sizes)]


def test_small_files_are_grouped_by_count_and_bytes():
    uploader = _uploader(part_size=8 * MIB, files_per_request=3)
    rows = _rows(MIB, MIB, MIB, MIB, 9 * MIB, 5 * MIB, 3 * MIB, MIB)
    groups = uploader._groups(rows)
    assert [[r[1] // MIB for r in g] for g in groups] == [[1, 1, 1], [9], [1, 5], [3, 1]]
    assert sorted(r for g in groups for r in g) == sorted(rows)


def test_one_file_per_request_when_asked():
    groups = _uploader(files_per_request=1)._groups(_rows(10, 20, 30))
    assert [len(g) for g in groups] == [1, 1, 1]


def test_the_tar_names_each_member_by_its_digest():
    body = _tar([("a" * 64, b"first"), ("b" * 64, b"second image")])
    with tarfile.open(fileobj=io.BytesIO(body), mode="r|") as archive:
        members = [(m.name, archive.extractfile(m).read()) for m in archive]
    assert members == [("a" * 64, b"first"), ("b" * 64, b"second image")]
