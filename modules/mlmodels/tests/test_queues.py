"""Pipeline tasks are routed to the queue their device needs."""

import pytest

from specimen_rdm_mlmodels.queues import CPU_QUEUE, GPU_QUEUE, pipeline_queue


@pytest.mark.parametrize(
    "device, gpu_workers, queue",
    [
        ("cpu", True, CPU_QUEUE),
        ("cuda", False, GPU_QUEUE),
        ("auto", True, GPU_QUEUE),
        ("auto", False, CPU_QUEUE),
    ],
)
def test_queue_for_device(device, gpu_workers, queue):
    assert pipeline_queue(device, gpu_workers) == queue


def test_unknown_device_is_named():
    with pytest.raises(ValueError, match="device: 'tpu'"):
        pipeline_queue("tpu", True)


def test_queues_are_declared_by_the_instance():
    from specimen_rdm.celery_queues import QUEUE_NAMES

    assert {CPU_QUEUE, GPU_QUEUE} <= set(QUEUE_NAMES)
