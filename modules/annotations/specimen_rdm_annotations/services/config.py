"""Annotation service configuration: record class, schema, policy, components, search."""

from invenio_i18n import lazy_gettext as _
from invenio_indexer.api import RecordIndexer
from invenio_records_resources.services import RecordServiceConfig
from invenio_records_resources.services.base.config import ConfiguratorMixin, FromConfig
from invenio_records_resources.services.records.config import SearchOptions
from invenio_records_resources.services.records.links import (
    RecordEndpointLink,
    pagination_endpoint_links,
)

from ..records.api import Annotation
from .components import AnnotationComponent
from .permissions import AnnotationPermissionPolicy
from .schema import AnnotationSchema
from .search_params import AnnotationFilterParam


class AnnotationSearchOptions(SearchOptions):
    """Full-text `q` over categories, tags, traits and transcriptions, plus URL filters."""

    params_interpreters_cls = [*SearchOptions.params_interpreters_cls, AnnotationFilterParam]
    sort_options = {
        **SearchOptions.sort_options,
        "score": dict(title=_("Score"), fields=["-score"]),
    }
    pagination_options = {"default_results_per_page": 25, "default_max_results": 10000}


class AnnotationServiceConfig(RecordServiceConfig, ConfiguratorMixin):
    """What the annotation service is made of."""

    service_id = "annotations"
    indexer_queue_name = "annotations"
    indexer_cls = RecordIndexer
    record_cls = Annotation
    schema = AnnotationSchema
    permission_policy_cls = FromConfig(
        "ANNOTATIONS_PERMISSION_POLICY", default=AnnotationPermissionPolicy
    )
    search = AnnotationSearchOptions
    components = [AnnotationComponent]
    links_item = {
        "self": RecordEndpointLink("annotations.read"),
        "revisions": RecordEndpointLink("annotations.revisions"),
        "review": RecordEndpointLink("annotations.review"),
    }
    links_search = pagination_endpoint_links("annotations.search")
