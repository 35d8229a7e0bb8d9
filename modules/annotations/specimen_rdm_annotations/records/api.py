"""Annotation record API: a records-resources Record with its own PID type and index."""

from invenio_pidstore.providers.recordid_v2 import RecordIdProviderV2
from invenio_records.dumpers import SearchDumper
from invenio_records.dumpers.indexedat import IndexedAtDumperExt
from invenio_records.systemfields import ConstantField
from invenio_records_resources.records.api import Record
from invenio_records_resources.records.systemfields import IndexField, PIDField
from invenio_records_resources.records.systemfields.pid import PIDFieldContext

from .dumpers import TargetAccessDumperExt
from .models import AnnotationMetadata


class AnnotationIdProvider(RecordIdProviderV2):
    """Random annotation ids (`abcde-12345`) under a PID type of their own, not RDM's `recid`."""

    pid_type = "annid"


class Annotation(Record):
    """An annotation on one image file of an RDM record (see interchange.py for its shape)."""

    model_cls = AnnotationMetadata
    schema = ConstantField("$schema", "local://annotations/annotation-v1.0.0.json")
    index = IndexField("annotations-annotation-v1.0.0", search_alias="annotations")
    pid = PIDField(
        key="id", provider=AnnotationIdProvider, context_cls=PIDFieldContext, create=True
    )
    dumper = SearchDumper(extensions=[TargetAccessDumperExt(), IndexedAtDumperExt()])
