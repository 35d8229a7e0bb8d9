"""REST export of specimen records as a Darwin Core Archive: `GET /api/specimens/export`.

Takes the query string of the record search (`q`, facet filters such as `family=Fagaceae`) and
answers with a zip (meta.xml, occurrence.txt, multimedia.txt, eml.xml) of the matching specimen
records the caller may read.
"""

import datetime
import tempfile

from flask import Blueprint, current_app, g, jsonify, request, send_file
from invenio_rdm_records.proxies import current_rdm_records_service

from .archive_export import EXPORT_LIMIT, export_rows
from .darwin_core_archive_writer import write_archive

blueprint = Blueprint("specimen_export", __name__, url_prefix="/specimens/export")


@blueprint.route("", methods=["GET"])
def export():
    """A Darwin Core Archive of the specimen records matching the search."""
    params = request.args.to_dict(flat=False)
    params = {k: v if len(v) > 1 else v[0] for k, v in params.items()}
    params.pop("size", None)
    params.pop("page", None)
    service = current_rdm_records_service
    total = service.search(g.identity, params={**params, "size": 1}).total
    if total > EXPORT_LIMIT:
        message = (
            f"The search matches {total} records; an export holds at most {EXPORT_LIMIT}. "
            "Narrow the query (e.g. by institution or year)."
        )
        return jsonify({"status": 400, "message": message}), 400
    api_url = current_app.config["SITE_API_URL"]
    records = service.scan(g.identity, params=params).hits
    stored = tempfile.SpooledTemporaryFile(max_size=64 * 1024 * 1024)  # noqa: SIM115 (sent)
    query = params.get("q") or "all records"
    write_archive(
        export_rows(records, api_url),
        stored,
        title=f"{current_app.config.get('THEME_SITENAME', 'Specimen RDM')} export: {query}",
    )
    stored.seek(0)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    return send_file(
        stored,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"specimens-{stamp}.zip",
    )


def create_blueprint(app) -> Blueprint:
    """The blueprint, for the `invenio_base.api_blueprints` entry point."""
    return blueprint
