"""Annotation resource configuration: routes, URL arguments and error handlers."""

import marshmallow as ma
from flask_resources import JSONSerializer, ResponseHandler
from flask_resources.parsers import MultiDictSchema
from invenio_records_resources.resources import RecordResourceConfig
from invenio_records_resources.resources.records.args import SearchRequestArgsSchema
from invenio_records_resources.resources.records.headers import etag_headers
from invenio_records_resources.services.base.config import ConfiguratorMixin

from ..formats import EXPORT_FORMATS, IMPORT_FORMATS
from ..services.search_params import TERM_FILTERS

AnnotationSearchArgsSchema = SearchRequestArgsSchema.from_dict(
    {
        **{name: ma.fields.List(ma.fields.String()) for name in TERM_FILTERS},
        "text": ma.fields.List(ma.fields.String()),
        "score_min": ma.fields.String(),
        "score_max": ma.fields.String(),
    },
    name="AnnotationSearchArgsSchema",
)
"""`q`, paging and sorting plus every filter of search_params.py (repeatable)."""


class ImportArgsSchema(MultiDictSchema):
    """`POST /api/annotations/import?format=…&record=…`."""

    format = ma.fields.String(required=True, validate=ma.validate.OneOf(IMPORT_FORMATS))
    record = ma.fields.String(required=True)
    category_set = ma.fields.String()
    category = ma.fields.String()
    dry_run = ma.fields.Boolean(load_default=False)


class ExportArgsSchema(MultiDictSchema):
    """`GET /api/annotations/export?format=…&record=…|q=…|records_q=…`."""

    format = ma.fields.String(required=True, validate=ma.validate.OneOf(EXPORT_FORMATS))
    record = ma.fields.String()
    q = ma.fields.String()
    records_q = ma.fields.String()
    category_set = ma.fields.String()
    yolo_task = ma.fields.String(validate=ma.validate.OneOf(("detect", "segment")))
    masks = ma.fields.String(validate=ma.validate.OneOf(("instance", "semantic")))
    include_images = ma.fields.Boolean(load_default=False)


class AnnotationResourceConfig(RecordResourceConfig, ConfiguratorMixin):
    """Routes under `/api/annotations`."""

    blueprint_name = "annotations"
    url_prefix = "/annotations"
    routes = {
        "list": "",
        "item": "/<pid_value>",
        "revisions": "/<pid_value>/revisions",
        "review": "/<pid_value>/review",
        "import": "/import",
        "export": "/export",
        "dataset": "/export/dataset",
        "page": "/pages/<recid>/<path:key>",
    }
    request_search_args = AnnotationSearchArgsSchema
    # IIIF viewers ask for JSON-LD (W3C AnnotationPages); annotations themselves are plain JSON.
    response_handlers = {
        **RecordResourceConfig.response_handlers,
        "application/ld+json": ResponseHandler(JSONSerializer(), headers=etag_headers),
    }
    request_view_args = {
        "pid_value": ma.fields.Str(),
        "recid": ma.fields.Str(),
        "key": ma.fields.Str(),
    }
    request_import_args = ImportArgsSchema
    request_export_args = ExportArgsSchema
