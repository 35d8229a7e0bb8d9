"""Annotation table: one row per annotation, every change kept as a revision."""

from invenio_db import db
from invenio_records.models import RecordMetadataBase
from sqlalchemy import Index, text


class AnnotationMetadata(db.Model, RecordMetadataBase):
    """An annotation's JSON; SQLAlchemy-Continuum keeps each earlier version (revisions)."""

    __tablename__ = "annotation_metadata"
    __versioned__ = {}
    __table_args__ = (
        # Annotations of one record: the record-index summary and the per-record exports.
        Index("ix_annotation_target_record", text("(json -> 'target' ->> 'record')")),
    )
