"""Which Celery queue a pipeline task goes to: GPU work to `pipelines-gpu`, the rest to CPU.

GPU workers consume `pipelines-gpu`; every worker can run `pipelines-cpu`. A task that asks for
"auto" goes to the GPU queue only when a GPU worker is known to be available, so that nothing
waits forever on a queue no worker consumes.
"""

CPU_QUEUE = "pipelines-cpu"
GPU_QUEUE = "pipelines-gpu"
DEVICES = ("cpu", "cuda", "auto")


def pipeline_queue(device: str, gpu_workers_available: bool) -> str:
    """Return the queue for a task that wants `device` ("cpu", "cuda" or "auto")."""
    if device not in DEVICES:
        raise ValueError(f"device: {device!r} is not one of {', '.join(DEVICES)}")
    if device == "cuda" or (device == "auto" and gpu_workers_available):
        return GPU_QUEUE
    return CPU_QUEUE
