"""Celery tasks of the annotations module."""

from celery import shared_task

from .annotation_store import annotations_of, index_annotations
from .target_access import forget_target_access


@shared_task(ignore_result=True)
def reindex_annotations_of(recid: str) -> int:
    """Refresh the index documents (and their access summary) of a record's annotations."""
    forget_target_access(recid)
    return index_annotations(annotations_of(recid))
