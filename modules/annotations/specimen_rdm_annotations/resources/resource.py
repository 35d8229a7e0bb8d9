"""Annotation REST resource: records-resources CRUD plus revisions, review, import, export."""

import json

from flask import Response, g, request
from flask_resources import from_conf, request_parser, resource_requestctx, response_handler, route
from invenio_records_resources.resources import RecordResource
from invenio_records_resources.resources.records.resource import (
    request_data,
    request_view_args,
)

from ..formats import MEDIA_TYPES

request_import_args = request_parser(from_conf("request_import_args"), location="args")
request_export_args = request_parser(from_conf("request_export_args"), location="args")


class AnnotationResource(RecordResource):
    """`/api/annotations` and its sub-routes."""

    def create_url_rules(self):
        """CRUD routes of RecordResource plus the annotation-specific ones."""
        routes = self.config.routes
        return [
            *super().create_url_rules(),
            route("GET", routes["revisions"], self.revisions),
            route("POST", routes["review"], self.review),
            route("POST", routes["import"], self.import_file),
            route("GET", routes["export"], self.export),
            route("GET", routes["page"], self.page),
            route("POST", routes["dataset"], self.dataset),
        ]

    @request_view_args
    @response_handler()
    def revisions(self):
        """Every revision of an annotation, oldest first."""
        hits = self.service.revisions(g.identity, resource_requestctx.view_args["pid_value"])
        return {"hits": {"total": len(hits), "hits": hits}}, 200

    @request_view_args
    @request_data
    @response_handler()
    def review(self):
        """Accept or reject (curators of the annotated record)."""
        item = self.service.review(
            g.identity, resource_requestctx.view_args["pid_value"], resource_requestctx.data or {}
        )
        return item.to_dict(), 200

    @request_import_args
    @response_handler()
    def import_file(self):
        """Import an annotation file for one record; 201 with the report, 400 when rejected."""
        args = resource_requestctx.args
        upload = request.files.get("file")
        payload = upload.read() if upload is not None else request.get_data()
        report = self.service.import_file(g.identity, args["record"], args["format"], payload, args)
        return report, (400 if report["errors"] else 200 if args["dry_run"] else 201)

    @request_export_args
    def export(self):
        """Export annotations of a record or a query in a format (a file download)."""
        exported = self.service.export(g.identity, resource_requestctx.args)
        return Response(
            exported.content,
            mimetype=exported.mimetype,
            headers={"Content-Disposition": f'attachment; filename="{exported.filename}"'},
        )

    @request_view_args
    def page(self):
        """W3C AnnotationPage of one image (linked from the record's IIIF manifest)."""
        view_args = resource_requestctx.view_args
        page = self.service.annotation_page(g.identity, view_args["recid"], view_args["key"])
        return Response(json.dumps(page), mimetype=MEDIA_TYPES["w3c"])

    @request_export_args
    @request_data
    @response_handler()
    def dataset(self):
        """Deposit the selected annotations as a draft dataset record (201 with the draft)."""
        title = (resource_requestctx.data or {}).get("title")
        return self.service.deposit_dataset(g.identity, resource_requestctx.args, title), 201
