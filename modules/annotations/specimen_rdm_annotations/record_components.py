"""RDM record-service component: a record's annotations follow its access after publishing."""

from invenio_drafts_resources.services.records.components import ServiceComponent
from invenio_records_resources.services.uow import TaskOp

from .tasks import reindex_annotations_of


class AnnotationAccessComponent(ServiceComponent):
    """After a (new or edited) record is published, reindex its annotations' access summary."""

    def publish(self, identity, draft=None, record=None, **kwargs):
        """Queue the reindex; it runs after the commit, on the Celery worker."""
        self.uow.register(TaskOp(reindex_annotations_of, record.pid.pid_value))


ANNOTATION_RECORD_COMPONENTS = [AnnotationAccessComponent]
"""Components that `invenio.cfg` appends to InvenioRDM's record-service components."""
