"""`invenio annotations setup`: the annotation table, index and record-search fields."""

import click
from flask import current_app
from flask.cli import with_appcontext
from invenio_db import db
from invenio_oaiserver.percolator import _build_percolator_index_name
from invenio_rdm_records.records.api import RDMRecord
from invenio_search import current_search, current_search_client
from invenio_search.utils import build_alias_name
from sqlalchemy_continuum import version_class

from .record_summary import SUMMARY_MAPPING
from .records.api import Annotation
from .records.models import AnnotationMetadata


def create_tables() -> list[str]:
    """Create the annotation table and its revision table where missing (idempotent)."""
    tables = [AnnotationMetadata.__table__, version_class(AnnotationMetadata).__table__]
    for table in tables:
        table.create(db.engine, checkfirst=True)
    return [table.name for table in tables]


def create_index() -> str:
    """Create the annotation index and alias where missing."""
    alias = build_alias_name(Annotation.index.search_alias)
    if not current_search_client.indices.exists(index=alias):
        # The same index, write alias and alias tree that `invenio index init` creates.
        for _ in current_search.create(index_list=[Annotation.index._name]):
            pass
    return alias


def add_summary_mapping() -> list[str]:
    """Add the `annotations` summary fields to the RDM records index and OAI's percolator index.

    invenio-oaiserver percolates record documents against a dedicated index it creates from the
    records mapping file (strict); without the fields there, OAI-PMH answers 500. Its own
    helper creates that index when missing, so the fields can be added now.
    """
    alias = build_alias_name(RDMRecord.index.search_alias)
    percolators = _build_percolator_index_name(str(current_app.config["OAISERVER_RECORD_INDEX"]))
    for index in (alias, percolators):
        current_search_client.indices.put_mapping(index=index, body={"properties": SUMMARY_MAPPING})
    add_text_to_default_fields(alias)
    return [alias, percolators]


FULL_TEXT_FIELD = "annotations.text"


def add_text_to_default_fields(alias: str) -> list[str]:
    """Let a plain-word record search (`q=Melbourne`) match the transcribed text of a record's
    annotations: InvenioRDM's records index lists its full-text fields in
    `index.query.default_field`, a dynamic setting; add the summary's text to it. The indices
    whose list changed."""
    changed = []
    settings = current_search_client.indices.get_settings(index=alias)
    for index, body in settings.items():
        fields = ((body["settings"]["index"].get("query") or {}).get("default_field")) or []
        if fields and FULL_TEXT_FIELD not in fields:
            current_search_client.indices.put_settings(
                index=index,
                body={"index": {"query": {"default_field": [*fields, FULL_TEXT_FIELD]}}},
            )
            changed.append(index)
    return changed


@click.group()
def annotations() -> None:
    """Annotation records."""


@annotations.command("setup")
@with_appcontext
def setup_command() -> None:
    """Create the annotation table, index and record-search fields (idempotent)."""
    click.echo(f"tables present: {', '.join(create_tables())}")
    click.echo(f"index present: {create_index()}")
    click.echo(f"record-search fields added to: {', '.join(add_summary_mapping())}")
