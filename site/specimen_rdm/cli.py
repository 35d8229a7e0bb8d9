"""`invenio specimens ...`: instance commands used by `make run`, `make token` and the tests."""

import secrets
from datetime import UTC, datetime
from pathlib import Path

import click
from flask.cli import with_appcontext
from invenio_accounts.proxies import current_datastore
from invenio_db import db
from invenio_files_rest.models import Location
from invenio_oauth2server.models import Token

from specimen_rdm_specimens.cli import import_command, setup_command

from .config import ARCHIVE_LOCATION_NAME, DEFAULT_LOCATION_NAME


@click.group()
def specimens() -> None:
    """Specimen RDM instance commands."""


@specimens.command("locations")
@click.option("--data", "data_dir", required=True, type=click.Path(file_okay=False))
@click.option("--archive", "archive_dir", required=True, type=click.Path(file_okay=False))
@with_appcontext
def locations(data_dir: str, archive_dir: str) -> None:
    """Create the active (default) and archive file locations if they do not exist."""
    for name, folder, default in (
        (DEFAULT_LOCATION_NAME, data_dir, True),
        (ARCHIVE_LOCATION_NAME, archive_dir, False),
    ):
        path = Path(folder).resolve()
        path.mkdir(parents=True, exist_ok=True)
        uri = path.as_uri()
        location = Location.get_by_name(name)
        if location is None:
            db.session.add(Location(name=name, uri=uri, default=default))
            click.echo(f"location {name}: created at {uri}")
        elif location.uri != uri:
            raise click.ClickException(
                f"location {name} already points at {location.uri}, not {uri}"
            )
    db.session.commit()


def ensure_user(email: str, password: str | None = None, admin: bool = False):
    """Return the active, confirmed user with this e-mail, creating them if needed."""
    user = current_datastore.get_user(email)
    if user is None:
        user = current_datastore.create_user(
            email=email,
            password=password or secrets.token_urlsafe(24),
            active=True,
            confirmed_at=datetime.now(UTC),
        )
    else:
        current_datastore.activate_user(user)
        if user.confirmed_at is None:
            user.confirmed_at = datetime.now(UTC)
    if admin:
        role = current_datastore.find_or_create_role("admin")
        current_datastore.add_role_to_user(user, role)
    return user


@specimens.command("user")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--admin", is_flag=True, help="Give the user the admin role.")
@with_appcontext
def user(email: str, password: str, admin: bool) -> None:
    """Create (or activate) a user with a password; with --admin, an administrator."""
    from invenio_accounts.utils import hash_password

    account = ensure_user(email, admin=admin)
    account.password = hash_password(password)
    db.session.commit()
    click.echo(f"user {email}: ready{' (admin)' if admin else ''}")


@specimens.command("token")
@click.option("--email", required=True, help="Owner of the token; created if missing.")
@click.option("--name", default="specimen-rdm-cli", show_default=True, help="Token name.")
@with_appcontext
def token(email: str, name: str) -> None:
    """Print a personal access token for EMAIL (last line of the output)."""
    account = ensure_user(email)
    db.session.flush()
    personal = Token.create_personal(name, account.id, scopes=["user:email"])
    db.session.commit()
    click.echo(personal.access_token)


@specimens.command("bulk-setup")
@with_appcontext
def bulk_setup() -> None:
    """Create the bulk-deposit tables and their indexes where missing (also the indexes added
    to tables of instances set up before them)."""
    from .bulk.models import BULK_TABLES

    db.metadata.create_all(bind=db.engine, tables=BULK_TABLES, checkfirst=True)
    for table in BULK_TABLES:
        for index in table.indexes:
            index.create(bind=db.engine, checkfirst=True)
    click.echo(f"bulk deposit: {len(BULK_TABLES)} tables and their indexes ready")


specimens.add_command(import_command)
specimens.add_command(setup_command)
