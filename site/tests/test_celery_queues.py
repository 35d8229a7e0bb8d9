"""Every routed task exists, and every route targets a declared queue."""

import importlib

from specimen_rdm.celery_queues import CELERY_TASK_QUEUES, CELERY_TASK_ROUTES, QUEUE_NAMES


def test_queues_are_declared_once_each():
    assert [queue.name for queue in CELERY_TASK_QUEUES] == list(QUEUE_NAMES)


def test_routes_name_real_tasks_and_declared_queues():
    for task_name, route in CELERY_TASK_ROUTES.items():
        module, _, function = task_name.rpartition(".")
        assert hasattr(importlib.import_module(module), function), task_name
        assert route["queue"] in QUEUE_NAMES
