"""The follow-up tasks of a bulk-written record are the ones a publish queues."""

from invenio_rdm_records.services.iiif.tasks import generate_tiles
from invenio_rdm_records.services.pids.tasks import register_or_update_pid

from specimen_rdm.bulk.followup import record_followups


def test_pids_then_one_tile_task_per_image():
    calls = record_followups("abcde-12345", ["a.jpg", "b.tif"], pipelines=False)
    assert calls == [
        (register_or_update_pid, ("abcde-12345", "doi"), {}),
        (register_or_update_pid, ("abcde-12345", "oai"), {}),
        (register_or_update_pid, ("abcde-12345", "doi"), {"parent": True}),
        (
            generate_tiles,
            (),
            {"record_id": "abcde-12345", "file_key": "a.jpg", "file_type": "files"},
        ),
        (
            generate_tiles,
            (),
            {"record_id": "abcde-12345", "file_key": "b.tif", "file_type": "files"},
        ),
    ]


def test_on_publish_pipelines_come_last():
    calls = record_followups("abcde-12345", [], pipelines=True)
    assert [task.name for task, _, _ in calls][-1].endswith("run_pipelines_on_publish")
    assert calls[-1][1] == ("abcde-12345",)
    assert len(calls) == 4
