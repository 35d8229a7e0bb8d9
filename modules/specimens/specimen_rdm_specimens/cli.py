"""`invenio specimens import|setup`: archive import from the command line and instance setup."""

import json
from pathlib import Path

import click
from flask.cli import with_appcontext
from invenio_access.permissions import system_identity
from invenio_accounts.proxies import current_datastore

from .archive_import import ImportCounts, SpecimenImporter, depositor_identity
from .darwin_core_archive import ArchiveError
from .duplicates import create_indexes
from .resource_types import ensure_resource_types


def _identity(owner: str | None):
    if not owner:
        return system_identity
    user = current_datastore.find_user(email=owner)
    if user is None:
        raise click.BadParameter(f"no user with e-mail {owner!r}", param_hint="--owner")
    return depositor_identity(user)


@click.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--community", help="Community (id or slug) to add the records to.")
@click.option("--owner", help="E-mail of the user who owns the records (default: the system).")
@click.option("--dry-run", is_flag=True, help="Validate and report; create nothing.")
@click.option("--report", "report_path", type=click.Path(path_type=Path),
              help="Write the per-row report (JSON lines) here.")  # fmt: skip
@with_appcontext
def import_command(path, community, owner, dry_run, report_path) -> None:
    """Import a Darwin Core Archive (.zip or folder) or a DwC CSV/TSV file."""
    importer = SpecimenImporter(_identity(owner), community=community, dry_run=dry_run)
    counts = ImportCounts()
    report = report_path.open("w") if report_path else None
    try:
        rows = importer.rows(path, counts)
        with click.progressbar(rows, length=counts.total, label="Importing specimens") as bar:
            for row in bar:
                if report:
                    report.write(json.dumps(row.to_json()) + "\n")
                if row.status == "rejected":
                    click.echo(f"\n{row.file} row {row.row}: {'; '.join(row.reasons)}", err=True)
    except ArchiveError as error:
        raise click.ClickException(str(error)) from error
    finally:
        if report:
            report.close()
    verb = "would create" if dry_run else "created"
    click.echo(
        f"{counts.processed} rows: {verb} {counts.created} ({counts.flagged} with quality flags), "
        f"{counts.duplicate} duplicates, {counts.rejected} rejected"
    )


@click.command("setup")
@with_appcontext
def setup_command() -> None:
    """Add the specimen resource types and the duplicate-lookup indexes (idempotent)."""
    created = ensure_resource_types()
    click.echo(f"resource types created: {', '.join(created) or 'none (all present)'}")
    click.echo(f"database indexes present: {', '.join(create_indexes())}")
